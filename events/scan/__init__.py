"""The malware scan (issue #15, item 5): each new object streamed to clamd with INSTREAM.

    protocol.py    pure: the scanner URL, INSTREAM framing, clamd's answers as verdicts
    clamd.py       the asyncio client: one INSTREAM session per object, TCP or unix socket
    inline.py      --scan-mode inline: the upload teed to clamd, refused (403) if infected
    quarantine.py  what an infected object becomes: legal hold, tags, unreadable to others
    worker.py      --scan-mode async: pending scans (a table), scanned in the background

`--scan-fail open|closed` decides what a scanner that is down (or cannot scan an object)
means: accept the object unscanned, or refuse it.
"""
