# nspawn-jitsi-meet: until this server has a configuration, every login shell says how to
# make one. jitsi-meet-config writes /etc/jitsi/master-config.yaml; then this stays quiet.
if [ ! -e /etc/jitsi/master-config.yaml ]; then
  printf '\n%s\n%s\n%s\n\n' \
    'This Jitsi Meet server is not configured yet: nginx, prosody and coturn are off.' \
    'Run   jitsi-meet-config   to answer a few questions; it writes every component' \
    'configuration, creates the secrets and starts the services.'
fi
