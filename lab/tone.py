"""Writes the lab phones' voice: raw 8 kHz G.711 mu-law, a 440 Hz tone with pauses.

sipp streams it (rtp_stream) so that calls carry media like real phones do;
without media Asterisk never optimises Local channels away, and recordings
would be empty.
"""

import math
import sys


def mulaw(sample: int) -> int:
    """ITU-T G.711 mu-law encoding of one 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), clip) + bias
    exponent = max(0, sample.bit_length() - 8)
    exponent = min(exponent, 7)
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def tone(seconds: float = 2.0, rate: int = 8000) -> bytes:
    out = bytearray()
    for n in range(int(seconds * rate)):
        on = (n // (rate // 2)) % 2 == 0  # half a second of tone, half of silence
        value = int(8000 * math.sin(2 * math.pi * 440 * n / rate)) if on else 0
        out.append(mulaw(value))
    return bytes(out)


if __name__ == "__main__":
    with open(sys.argv[1], "wb") as f:
        f.write(tone())
