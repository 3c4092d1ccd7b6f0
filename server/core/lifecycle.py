"""What one server process knows about itself: its id and whether it is draining."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class Lifecycle:
    """Mutable process state: set ``draining`` on SIGTERM so /readyz and joins refuse."""

    process_id: str = field(default_factory=lambda: "s" + secrets.token_hex(6))
    started_at: float = field(default_factory=time.time)
    draining: bool = False
