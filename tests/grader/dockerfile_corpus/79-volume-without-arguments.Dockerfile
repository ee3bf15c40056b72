FROM scratch
LABEL a=b
VOLUME
