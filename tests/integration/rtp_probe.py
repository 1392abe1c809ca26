"""Listening to what a lab phone hears: RTP to its media port, sniffed on the
loopback interface (AF_PACKET, root), decoded from G.711 mu-law, and a Goertzel
filter to tell the lab's tones apart (phones send 440 Hz, the Play beep is 1 kHz)."""

from __future__ import annotations

import math
import socket
import struct
import time

ETH_P_ALL = 0x0003


def _mulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    sample = ((mantissa << 3) + 0x84) << exponent
    sample -= 0x84
    return -sample if sign else sample


MULAW = [_mulaw_to_linear(b) for b in range(256)]


def capture_rtp(ports: list[int], seconds: float) -> dict[int, list[int]]:
    """Linear samples of the PCMU RTP sent to each UDP port on lo, for `seconds`."""
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sniffer.bind(("lo", 0))
    sniffer.settimeout(0.2)
    samples: dict[int, list[int]] = {port: [] for port in ports}
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                frame, address = sniffer.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] == socket.PACKET_OUTGOING:
                continue  # every packet on lo is seen twice; keep the incoming copy
            ip = frame[14:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            udp = ip[(ip[0] & 0x0F) * 4:]
            dest_port = struct.unpack("!H", udp[2:4])[0]
            if dest_port not in samples:
                continue
            rtp = udp[8:]
            if len(rtp) < 12 or rtp[1] & 0x7F != 0:  # PCMU only
                continue
            samples[dest_port].extend(MULAW[b] for b in rtp[12:])
    finally:
        sniffer.close()
    return samples


def tone_power(samples: list[int], frequency: float, rate: int = 8000) -> float:
    """Goertzel power of one frequency, normalised by the number of samples."""
    if not samples:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    s_prev = s_prev2 = 0.0
    for sample in samples:
        s = sample + coefficient * s_prev - s_prev2
        s_prev2, s_prev = s_prev, s
    power = s_prev2 ** 2 + s_prev ** 2 - coefficient * s_prev * s_prev2
    return power / len(samples) ** 2
