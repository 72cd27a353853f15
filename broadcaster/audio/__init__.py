"""Audio: decoding files, rendering programs, and the outputs that play them."""
