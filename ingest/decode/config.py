"""DecodeConfig: the decoder's knobs (fragment reassembly bounds, tunnel ports, fast path)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DecodeConfig:
    # A datagram whose first fragment is older than this (capture time) is dropped, as Linux does.
    fragment_timeout: float = 30.0
    # Memory bound of the reassembler: past either limit the oldest pending datagram is dropped.
    max_fragment_datagrams: int = 4096
    max_fragment_bytes: int = 64 << 20
    # UDP ports whose payload is decapsulated (either port of the datagram may match).
    vxlan_ports: tuple[int, ...] = (4789,)
    geneve_ports: tuple[int, ...] = (6081,)
    teredo_ports: tuple[int, ...] = (3544,)
    # Nested encapsulations deeper than this are counted (malformed.tunnel_depth) and dropped.
    max_tunnel_depth: int = 8
    # Vectorised numpy decoding of ordinary frames; False sends every frame through the slow path.
    fastpath: bool = True

    def tunnel_ports(self) -> tuple[int, ...]:
        return tuple(sorted({*self.vxlan_ports, *self.geneve_ports, *self.teredo_ports}))
