"""HJ 212 (HJ/T 212-2005, HJ 212-2017, HJ 212-2025): the codec of the data loggers' protocol.

Pure functions and small state machines over bytes — no sockets, no clock, no asyncio:

- :class:`FrameBuffer` cuts frames (and garbage, with reasons) out of a TCP stream;
- :func:`decode_packet` / :func:`decode_frame` read one packet into :class:`Packet`, and
  never raise: :class:`Decoded` says ``ok`` or why not (:class:`Fault`);
- :func:`encode_packet` is their inverse; :mod:`~ingest.hj212.replies` builds what the
  platform sends (9014, 9013, 1012) and reads 9011/9012;
- :class:`Reassembler` joins split packets (PNUM/PNO);
- the CRC is the standard's Appendix A algorithm, which is *not* CRC-16/MODBUS
  (:mod:`~ingest.hj212.crc`); MODBUS is accepted per device;
- HJ 212-2025: SM4 encryption of the data area (:mod:`~ingest.hj212.sm4`, given the keys
  by MN the buffer and decoders open it), the heartbeat, the hardware serial and the MN
  the platform assigns (:mod:`~ingest.hj212.edition2025`).
"""

from ingest.hj212.clock import CST, TimeParse, format_time, make_qn, parse_time
from ingest.hj212.cp import LEGACY_CODES, DataArea, standard_code
from ingest.hj212.crc import CrcVariant, crc_hj212, crc_modbus, crc_text
from ingest.hj212.edition2025 import (
    HEARTBEAT,
    SERIAL_UPLOAD,
    SET_MN,
    hardware_serial,
    needs_heartbeat_reply,
    set_mn,
)
from ingest.hj212.frame import ACCEPT_ANY, ACCEPT_STANDARD, MAX_SEGMENT, Frame, encode_frame
from ingest.hj212.packet import (
    Decoded,
    Edition,
    Packet,
    decode_frame,
    decode_packet,
    encode_packet,
    encode_segment,
    make_flag,
)
from ingest.hj212.reasons import EncodeError, Fault, TimeFault
from ingest.hj212.reassembly import Reassembler, Reassembly
from ingest.hj212.replies import (
    CommandReply,
    command,
    data_reply,
    needs_data_reply,
    needs_notification_reply,
    notification_reply,
    parse_command_reply,
    set_time,
)
from ingest.hj212.report import describe
from ingest.hj212.sm4 import KeyLookup, Sm4Key, decrypt_segment, encrypt_segment, encrypts
from ingest.hj212.stream import FrameBuffer, Garbage

__all__ = [
    "ACCEPT_ANY",
    "ACCEPT_STANDARD",
    "CST",
    "HEARTBEAT",
    "LEGACY_CODES",
    "MAX_SEGMENT",
    "SERIAL_UPLOAD",
    "SET_MN",
    "CommandReply",
    "CrcVariant",
    "DataArea",
    "Decoded",
    "Edition",
    "EncodeError",
    "Fault",
    "Frame",
    "FrameBuffer",
    "Garbage",
    "KeyLookup",
    "Packet",
    "Reassembler",
    "Reassembly",
    "Sm4Key",
    "TimeFault",
    "TimeParse",
    "command",
    "crc_hj212",
    "crc_modbus",
    "crc_text",
    "data_reply",
    "decode_frame",
    "decode_packet",
    "decrypt_segment",
    "describe",
    "encode_frame",
    "encode_packet",
    "encode_segment",
    "encrypt_segment",
    "encrypts",
    "format_time",
    "hardware_serial",
    "make_flag",
    "make_qn",
    "needs_data_reply",
    "needs_heartbeat_reply",
    "needs_notification_reply",
    "notification_reply",
    "parse_command_reply",
    "parse_time",
    "set_mn",
    "set_time",
    "standard_code",
]
