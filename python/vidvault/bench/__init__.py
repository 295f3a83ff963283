"""`vidvault bench`: what a storage box can hold, measured beside baselines
taken in the same run on the same directory.

    vidvault bench ingest   --dir PATH --cameras N --bitrate 4M ...   simulated cameras through the API
    vidvault bench capacity --dir PATH --bitrate 4M                    largest camera count held in real time
    vidvault bench seek     --dir PATH                                 seek latency as the store grows
    vidvault bench export   --dir PATH                                 60 s clip remux vs ffmpeg -c copy
    vidvault bench redact   --dir PATH                                 desensitized playback vs per-frame detection

Each prints a table for people (or ``--json`` for machines) that names the
machine, the filesystem and the versions measured.
"""
