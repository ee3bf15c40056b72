FROM scratch
ARG A B
LABEL a=b
