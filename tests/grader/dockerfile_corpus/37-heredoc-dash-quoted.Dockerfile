FROM debian:bookworm-slim
RUN <<-"END" bash
	echo tabs are stripped
	END
LABEL a=b
