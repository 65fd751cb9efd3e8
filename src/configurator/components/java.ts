/**
 * What Jitsi's Java components (jicofo, the videobridge) share in their service environment:
 * Debian's packages keep each one's home in /etc/jitsi/<home>/ and its logs in /var/log/jitsi.
 */

/** The `JAVA_SYS_PROPS="..."` line of a Java component's environment file. */
export function javaSysPropsLine(home: string, configFile: string): string {
  const props = [
    `-Dconfig.file=${configFile}`,
    '-Dnet.java.sip.communicator.SC_HOME_DIR_LOCATION=/etc/jitsi',
    `-Dnet.java.sip.communicator.SC_HOME_DIR_NAME=${home}`,
    '-Dnet.java.sip.communicator.SC_LOG_DIR_LOCATION=/var/log/jitsi',
    `-Djava.util.logging.config.file=/etc/jitsi/${home}/logging.properties`,
  ];
  return `JAVA_SYS_PROPS="${props.join(' ')}"`;
}
