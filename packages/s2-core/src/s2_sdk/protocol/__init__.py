"""The S2 wire codec, shared by the client and by s2-local (public but low-level).

- :mod:`pb`: protobuf messages of the v1 data plane (``AppendInput``, ``ReadBatch``, ...).
- S2S framing: :func:`encode_frame`, :func:`encode_terminal_frame`, :class:`FrameDecoder`.
- Compression: :class:`Codec`, :func:`compress`, :func:`decompress`.
- Errors: :class:`ErrorCode`, the API's error codes with their statuses and retry rules.
- Record rules: :func:`metered_size`, :func:`record_error`, command records.
- Naming rules: ``*_error`` functions returning None or a message.
- Limits: ``MAX_*`` constants.
- Writing and walking protobuf directly: :func:`varint`, :func:`read_varint`.
- HTTP/2: :func:`quiet_frames`, :func:`stateless_headers` (:class:`StatelessEncoder`,
  :class:`PlainBlockDecoder`) and
  :data:`H2_MAX_FRAME_SIZE`, per-connection settings of ``h2``.
- Views of the same messages for hot paths: :data:`AppendInputView`, :data:`ReadBatchView`,
  :data:`ReadBatchProbe`, :data:`ReadBatchJoined` (headers as raw bytes).
"""

from s2_sdk.protocol._compression import (
    Codec,
    CompressionError,
    codec_from_accept_encoding,
    codec_from_content_encoding,
    compress,
    decompress,
)
from s2_sdk.protocol._errors import ErrorCode
from s2_sdk.protocol._frames import (
    Frame,
    FrameDecoder,
    FrameError,
    encode_frame,
    encode_terminal_frame,
)
from s2_sdk.protocol._generated import s2_pb2 as pb
from s2_sdk.protocol._h2 import (
    H2_MAX_FRAME_SIZE,
    PlainBlockDecoder,
    StatelessEncoder,
    quiet_frames,
    stateless_headers,
)
from s2_sdk.protocol._limits import (
    COMPRESSION_THRESHOLD,
    MAX_BATCH_METERED_BYTES,
    MAX_BATCH_RECORDS,
    MAX_DECOMPRESSED_BYTES,
    MAX_FENCING_TOKEN_BYTES,
    MAX_FRAME_BYTES,
    MAX_LIST_LIMIT,
    MAX_RECORD_METERED_BYTES,
    MAX_REQUEST_TOKEN_BYTES,
    MAX_UNARY_READ_WAIT_SECS,
)
from s2_sdk.protocol._names import (
    access_token_id_error,
    basin_name_error,
    basin_prefix_error,
    location_name_error,
    stream_name_error,
    stream_prefix_error,
    token_id_prefix_error,
)
from s2_sdk.protocol._records import (
    COMMAND_FENCE,
    COMMAND_TRIM,
    HeaderLike,
    command_of,
    metered_size,
    record_error,
)
from s2_sdk.protocol._varint import read_varint, varint
from s2_sdk.protocol._views import (
    AppendInputView,
    ReadBatchJoined,
    ReadBatchProbe,
    ReadBatchView,
)

__all__ = [
    "COMMAND_FENCE",
    "COMMAND_TRIM",
    "COMPRESSION_THRESHOLD",
    "AppendInputView",
    "H2_MAX_FRAME_SIZE",
    "MAX_BATCH_METERED_BYTES",
    "MAX_BATCH_RECORDS",
    "MAX_DECOMPRESSED_BYTES",
    "MAX_FENCING_TOKEN_BYTES",
    "MAX_FRAME_BYTES",
    "MAX_LIST_LIMIT",
    "MAX_RECORD_METERED_BYTES",
    "MAX_REQUEST_TOKEN_BYTES",
    "MAX_UNARY_READ_WAIT_SECS",
    "Codec",
    "CompressionError",
    "ErrorCode",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "HeaderLike",
    "PlainBlockDecoder",
    "ReadBatchJoined",
    "ReadBatchProbe",
    "ReadBatchView",
    "StatelessEncoder",
    "access_token_id_error",
    "basin_name_error",
    "basin_prefix_error",
    "codec_from_accept_encoding",
    "codec_from_content_encoding",
    "command_of",
    "compress",
    "decompress",
    "encode_frame",
    "encode_terminal_frame",
    "location_name_error",
    "metered_size",
    "pb",
    "quiet_frames",
    "stateless_headers",
    "read_varint",
    "varint",
    "record_error",
    "stream_name_error",
    "stream_prefix_error",
    "token_id_prefix_error",
]
