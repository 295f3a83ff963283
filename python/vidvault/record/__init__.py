"""Recording many cameras at once: `vidvault record CONFIG` and
:class:`vidvault.Recorder`.

- :mod:`.config`: the TOML configuration, checked key by key;
- :mod:`.camera_worker`: one camera's reconnecting ingest thread;
- :mod:`.recorder`: the set of cameras, reloaded in place;
- :mod:`.status_file`: the JSON status file monitoring reads.
"""

from .config import CameraConfig, ConfigError, RecordConfig, camera_from_table, load_config
from .recorder import Recorder, UpdateResult

__all__ = ["CameraConfig", "ConfigError", "RecordConfig", "Recorder", "UpdateResult", "camera_from_table",
           "load_config"]
