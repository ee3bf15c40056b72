FROM scratch
LABEL a=b
ADD
