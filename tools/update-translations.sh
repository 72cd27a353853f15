#!/usr/bin/env bash
# Refresh the gettext catalogs after changing user-facing strings (needs GNU gettext and .venv):
# extracts every _("…") of Loa into loa.pot and of the installed click into click.pot, merges them
# into each language's .po files, and compiles the .mo files. Then translate the new, empty or
# fuzzy entries of broadcaster/i18n/locale/vi/LC_MESSAGES/*.po and run this script again;
# tests/test_i18n.py fails while any string is untranslated.
set -euo pipefail
cd "$(dirname "$0")/.."
locale=broadcaster/i18n/locale
extract() {  # extract POT SOURCES...
  local pot=$1
  shift
  xgettext --language=Python --keyword=_ --keyword=N_ --keyword=ngettext:1,2 --from-code=UTF-8 \
    --no-location --sort-output --package-name=Loa --msgid-bugs-address=loa -o "$pot" "$@"
}
extract "$locale/loa.pot" $(git ls-files --cached --others --exclude-standard 'broadcaster/*.py' 'broadcaster/web/templates/*.html')
click_dir=$(.venv/bin/python -c 'import click, os; print(os.path.dirname(click.__file__))')
extract "$locale/click.pot" "$click_dir"/*.py
for language in vi en; do
  for domain in loa click; do
    po="$locale/$language/LC_MESSAGES/$domain.po"
    [ -f "$po" ] || continue
    msgmerge --quiet --update --backup=none --no-location --sort-output "$po" "$locale/$domain.pot"
    [ "$language" = en ] && msgen -o "$po" "$po"
    msgfmt --check -o "${po%.po}.mo" "$po"
  done
done
