"""Evidence export: a time range of one camera as a signed package, and its
offline verification (docs/EXPORT.md).

- :mod:`.package`: ``export_clip``, the package assembled and signed;
- :mod:`.manifest`: ``manifest.json`` and its canonical JSON;
- :mod:`.watermark`: the burned-in watermark of a copy;
- :mod:`.redacted`: the redacted copy, made and read back;
- :mod:`.c2pa`: C2PA content credentials in the MP4s;
- :mod:`.verify`: the offline verifier.

Export receives the store's core handle; it never imports the Store.
"""
