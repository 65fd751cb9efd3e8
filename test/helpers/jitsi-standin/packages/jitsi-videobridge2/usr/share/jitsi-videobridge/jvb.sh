#!/bin/bash
# Test stand-in launcher (see test/helpers/jitsi-standin): runs the stand-in bridge with Java
# and the heap limit from VIDEOBRIDGE_MAX_MEMORY, as the real launcher does.
if [ -z "$VIDEOBRIDGE_MAX_MEMORY" ]; then VIDEOBRIDGE_MAX_MEMORY=3072m; fi
# JAVA_SYS_PROPS holds several -D options: split on purpose.
# shellcheck disable=SC2086
exec java -Xmx"$VIDEOBRIDGE_MAX_MEMORY" -XX:+UseG1GC $JAVA_SYS_PROPS \
	-Dstandin.version=@VERSION@ -jar /usr/share/jitsi-videobridge/jitsi-videobridge.jar --role=videobridge "$@"
