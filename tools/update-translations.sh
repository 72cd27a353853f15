#!/usr/bin/env bash
# Refresh the gettext catalogs after changing user-facing strings (needs GNU gettext):
# extracts every _("…") into loa.pot, merges it into each language's .po, compiles the .mo files.
# Then translate the new, empty or fuzzy entries in broadcaster/locale/vi/LC_MESSAGES/loa.po and
# run this script again; tests/test_i18n.py fails while any string is untranslated.
set -euo pipefail
cd "$(dirname "$0")/.."
locale=broadcaster/locale
xgettext --language=Python --keyword=_ --keyword=ngettext:1,2 --from-code=UTF-8 \
  --no-location --sort-output --package-name=Loa --msgid-bugs-address=loa \
  -o "$locale/loa.pot" $(git ls-files --cached --others --exclude-standard 'broadcaster/*.py')
for language in vi en; do
  po="$locale/$language/LC_MESSAGES/loa.po"
  msgmerge --quiet --update --backup=none --no-location --sort-output "$po" "$locale/loa.pot"
  [ "$language" = en ] && msgen -o "$po" "$po"
  msgfmt --check -o "${po%.po}.mo" "$po"
done
