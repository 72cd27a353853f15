"""Audio: decoding files, rendering programs, and the outputs that play them."""

import warnings

# pydub looks for ffmpeg when imported and warns when it is missing; Loa decodes WAV, MP3, OGG
# and FLAC without it (a Windows commune PC has none) and says so itself where ffmpeg is needed.
warnings.filterwarnings("ignore", message="Couldn't find ff", category=RuntimeWarning)
