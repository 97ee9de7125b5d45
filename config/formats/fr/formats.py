"""French (Canada) date and time formats, over Django's own French module (issue 21).

Only what differs is declared; every other name falls back to django/conf/locale/fr/formats.py.
"7 déc. 2026, 10 h 40": the abbreviated month ("N" gives "déc."), the hour with "h" as the
Office québécois de la langue française and the Government of Canada style guide write it."""

DATE_FORMAT = "j N Y"
TIME_FORMAT = r"G \h i"
DATETIME_FORMAT = r"j N Y, G \h i"
MONTH_DAY_FORMAT = "j F"
