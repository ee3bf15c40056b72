FROM scratch
LABEL
