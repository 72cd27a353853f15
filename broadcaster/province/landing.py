"""How a province campaign lands in a station directory: the files it becomes, named so that they
cannot collide with the officers' own (`tinh-<id>`), marked with the bulletin id, version and
sha256 so that an edit by hand is noticed and undone. The province checks a campaign with the
same documents before sending it, so a campaign a station would refuse is refused at the province.
"""

from typing import Any

import yaml  # type: ignore[import-untyped]

from broadcaster.province.messages import Campaign, Content

PREFIX = "tinh-"
"""Province files in a station: `announcements/tinh-<id>.yaml` (or `.mp3`…) and
`schedules/tinh-<id>.yaml`; entry and announcement ids `tinh-<id>`."""
MARK = "# loa-province"
"""The first line of a province file: `# loa-province id=… version=… sha256=…`."""


def local_id(campaign_id: str) -> str:
    return f"{PREFIX}{campaign_id}"


def campaign_of(local: str) -> str | None:
    """The campaign id of a province entry or announcement id; None for the officers' own."""
    return local[len(PREFIX) :] if local.startswith(PREFIX) else None


def announcement_file(campaign: Campaign) -> str:
    """The file name in `announcements/`: text as YAML (title, text, voice), or the recording."""
    content = campaign.content
    suffix = content.suffix if content.recording is not None else ".yaml"
    return f"{local_id(campaign.id)}{suffix}"


def announcement_ref(campaign: Campaign) -> str:
    """What the schedule entry's `announcement:` says: the id, or the recording's file name."""
    return (
        announcement_file(campaign)
        if campaign.content.recording is not None
        else local_id(campaign.id)
    )


def mark(campaign: Campaign) -> str:
    return (
        f"{MARK} id={campaign.id} version={campaign.version} sha256={campaign.content.sha256}\n"
        "# Bản tin của tỉnh: đừng sửa tệp này (Loa ghi lại bản của tỉnh).\n"
        "# A province bulletin: do not edit (Loa writes the province's version back).\n"
    )


def announcement_document(campaign: Campaign) -> str:
    """The YAML of a text campaign's announcement."""
    content: Content = campaign.content
    body: dict[str, Any] = {"title": content.title or campaign.id, "text": content.text}
    if content.voice:
        body["voice"] = content.voice
    return mark(campaign) + _dump(body)


def schedule_document(campaign: Campaign, approved: bool, approved_by: str | None = None) -> str:
    """The schedule file of a campaign: one entry. `approved` False makes it a draft, for
    stations that accept province campaigns only after `loa approve`."""
    entry: dict[str, Any] = {
        "id": local_id(campaign.id),
        "announcement": announcement_ref(campaign),
        "priority": str(campaign.priority),
        **campaign.schedule,
        "status": "approved" if approved else "draft",
        "created_by": f"tinh:{campaign.sender}" if campaign.sender else "tinh",
    }
    if approved and approved_by:
        entry["approved_by"] = approved_by
    return mark(campaign) + _dump([entry])


def _dump(value: Any) -> str:
    text: str = yaml.safe_dump(value, allow_unicode=True, sort_keys=False, default_flow_style=None)
    return text
