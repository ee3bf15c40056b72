FROM scratch
LABEL a=b
CMD
