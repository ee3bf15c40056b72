FROM scratch
LABEL corpus=scratch
