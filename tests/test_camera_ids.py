"""GB/T 28181 device ids: any string is a camera id, the 20-digit form is
recognised and validated on request."""

import vidvault


def test_gb28181_validation():
    assert vidvault.is_gb28181_id("34020000001320000001")
    assert vidvault.gb28181_device_type("34020000001320000001") == "network camera (IPC)"
    assert vidvault.gb28181_device_type("34020000001110000001") == "DVR"
    assert not vidvault.is_gb28181_id("3402000000132000000")   # 19 digits
    assert not vidvault.is_gb28181_id("3402000000132000000X")
    assert not vidvault.is_gb28181_id("34020000000000000001")  # type code 000 unassigned
    assert vidvault.gb28181_device_type("front door") is None
