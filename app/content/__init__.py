"""Officers' content (question banks, contests, surveys) as YAML: read safely, validate with
line-numbered messages, store as versions that never rewrite history.

    reader.py    YAML text -> a tree of plain values with the line/column of every node
    schemas.py   pydantic models of the three kinds (the contract of ../shared/specs/)
    checks.py    the rules a schema cannot express (answers, duplicates, show_if, dates…)
    validate.py  one entry point: text -> Document (the model) or Problems, all at once
    messages.py  the messages officers read, in Vietnamese or English
    store.py     banks, contests and surveys into the database, with versions and reports
"""
