"""The fingerprint index: what is stored about each host image, and what is near a new one.

``analysis`` (load and fingerprint a file), ``store`` (rows and index keys), ``lookup`` (near
matches without reading every stored fingerprint), ``refs`` (names of host images).
"""
