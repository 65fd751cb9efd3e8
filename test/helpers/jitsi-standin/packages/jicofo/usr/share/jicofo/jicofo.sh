#!/bin/bash
# Test stand-in launcher (see test/helpers/jitsi-standin): runs the stand-in focus with Java and
# the heap limit from JICOFO_MAX_MEMORY, as the real launcher does.
if [ -z "$JICOFO_MAX_MEMORY" ]; then JICOFO_MAX_MEMORY=3072m; fi
# JAVA_SYS_PROPS holds several -D options: split on purpose.
# shellcheck disable=SC2086
exec java -Xmx"$JICOFO_MAX_MEMORY" -XX:+UseG1GC $JAVA_SYS_PROPS \
	-Dstandin.version=@VERSION@ -jar /usr/share/jicofo/jicofo.jar --role=jicofo "$@"
