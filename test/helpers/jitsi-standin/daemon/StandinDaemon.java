/*
 * Stand-in for jicofo and jitsi-videobridge in tests (never shipped in a real image).
 *
 * Started by the packages' own launchers (jicofo.sh, jvb.sh) exactly as the real daemons are:
 * `java -Xmx... $JAVA_SYS_PROPS -jar <jar> --role=jicofo|videobridge`, with
 * -Dconfig.file=<the real jicofo.conf / jvb.conf>. It reads the XMPP settings the real daemon
 * reads from that file, logs in to prosody over c2s (STARTTLS; the certificate is checked
 * against the JRE's trust store, which on Debian is the system CA store, unless the config
 * disables verification as the real daemons allow), joins the brewery MUC, stays connected and
 * answers the health endpoint the real daemon answers. When it cannot log in or join it exits
 * non-zero, so the service fails as the real one would be seen to fail.
 *
 * Only the JDK: no third-party libraries, so the test helper can compile it with javac.
 */
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

public final class StandinDaemon {
    /** Exit status when the config, the login or the brewery join fails. */
    static final int EXIT_FAILED = 1;
    /** Exit status when an established connection is lost (the real daemons would reconnect). */
    static final int EXIT_LOST = 2;

    static final String NS_MUC = "http://jabber.org/protocol/muc";
    static final String NS_MUC_USER = "http://jabber.org/protocol/muc#user";
    static final String NS_COLIBRI = "http://jitsi.org/protocol/colibri";
    static final String NS_FOCUS = "http://jitsi.org/protocol/focus";

    static void log(String message) {
        System.out.println(Instant.now() + " standin " + message);
        System.out.flush();
    }

    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }
    }

    // ------------------------------------------------------------------ settings

    /** What the daemon needs from its config file, under the names the real config uses. */
    static final class Settings {
        String role;
        String host = "localhost";
        int port = 5222;
        String domain;
        String username;
        String password;
        String breweryJid;
        String nickname;
        boolean verifyCertificate = true;
        String healthHost = "127.0.0.1";
        int healthPort;
        String clientProxy;
        String version = "standin";
    }

    static String required(Map<String, String> conf, String key, String file) throws Failure {
        String value = conf.get(key);
        if (value == null || value.isEmpty()) throw new Failure(file + " does not set " + key);
        return value;
    }

    static Settings jicofoSettings(Map<String, String> conf, String file) throws Failure {
        Settings s = new Settings();
        s.role = "jicofo";
        String p = "jicofo.xmpp.client.";
        s.host = conf.getOrDefault(p + "hostname", s.host);
        s.port = Integer.parseInt(conf.getOrDefault(p + "port", "5222"));
        s.domain = required(conf, p + "domain", file);
        s.username = required(conf, p + "username", file);
        s.password = required(conf, p + "password", file);
        s.clientProxy = conf.get(p + "client-proxy");
        s.verifyCertificate = !"true".equals(conf.get(p + "disable-certificate-verification"));
        s.breweryJid = required(conf, "jicofo.bridge.brewery-jid", file);
        s.nickname = s.username;
        s.healthHost = conf.getOrDefault("jicofo.rest.host", "127.0.0.1");
        s.healthPort = Integer.parseInt(conf.getOrDefault("jicofo.rest.port", "8888"));
        return s;
    }

    static Settings videobridgeSettings(Map<String, String> conf, String file) throws Failure {
        Settings s = new Settings();
        s.role = "videobridge";
        String base = "videobridge.apis.xmpp-client.configs.";
        TreeSet<String> shards = new TreeSet<>();
        for (String key : conf.keySet()) {
            if (key.startsWith(base)) shards.add(key.substring(base.length()).split("\\.")[0]);
        }
        if (shards.isEmpty()) throw new Failure(file + " has no videobridge.apis.xmpp-client.configs.<shard>");
        // The stand-in connects to the first shard only; an all-in-one server has one.
        String p = base + shards.first() + ".";
        s.host = conf.getOrDefault(p + "HOSTNAME", s.host);
        s.port = Integer.parseInt(conf.getOrDefault(p + "PORT", "5222"));
        s.domain = required(conf, p + "DOMAIN", file);
        s.username = required(conf, p + "USERNAME", file);
        s.password = required(conf, p + "PASSWORD", file);
        s.breweryJid = required(conf, p + "MUC_JIDS", file).split(",")[0].trim();
        s.nickname = required(conf, p + "MUC_NICKNAME", file);
        s.verifyCertificate = !"true".equals(conf.get(p + "DISABLE_CERTIFICATE_VERIFICATION"));
        s.healthHost = conf.getOrDefault("videobridge.http-servers.private.host", "127.0.0.1");
        s.healthPort = Integer.parseInt(conf.getOrDefault("videobridge.http-servers.private.port", "8080"));
        return s;
    }

    // ------------------------------------------------------------------ HOCON (the subset Jitsi's files use)

    /**
     * Flattens a HOCON document to dotted paths: objects (`a { }`, `a = { }`, `a.b.c = v`), `=` or
     * `:`, quoted and unquoted values, arrays of scalars (joined with commas), `#` and `//`
     * comments, later keys winning. `include` lines and substitutions are not resolved.
     */
    static final class Hocon {
        final String text;
        int pos;
        final Map<String, String> out = new LinkedHashMap<>();

        Hocon(String text) {
            this.text = text;
        }

        static Map<String, String> parse(String text) throws Failure {
            Hocon h = new Hocon(text);
            h.object("", false);
            return h.out;
        }

        Failure error(String what) {
            int line = 1;
            for (int i = 0; i < pos && i < text.length(); i++) if (text.charAt(i) == '\n') line++;
            return new Failure("HOCON line " + line + ": " + what);
        }

        boolean atEnd() {
            return pos >= text.length();
        }

        char peek() {
            return text.charAt(pos);
        }

        void skipSpaceAndComments(boolean newlines) {
            while (!atEnd()) {
                char c = peek();
                if (c == '#' || text.startsWith("//", pos)) {
                    while (!atEnd() && peek() != '\n') pos++;
                } else if (c == ' ' || c == '\t' || c == '\r' || (newlines && (c == '\n' || c == ','))) {
                    pos++;
                } else {
                    return;
                }
            }
        }

        String quoted() throws Failure {
            StringBuilder b = new StringBuilder();
            pos++;
            while (true) {
                if (atEnd()) throw error("unterminated string");
                char c = text.charAt(pos++);
                if (c == '"') return b.toString();
                if (c == '\\') {
                    char e = text.charAt(pos++);
                    switch (e) {
                        case 'n': b.append('\n'); break;
                        case 't': b.append('\t'); break;
                        case 'u': b.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16)); pos += 4; break;
                        default: b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }

        String key() throws Failure {
            StringBuilder b = new StringBuilder();
            while (!atEnd()) {
                char c = peek();
                if (c == '"') b.append(quoted());
                else if (Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.') { b.append(c); pos++; }
                else break;
            }
            if (b.length() == 0) throw error("expected a key at '" + (atEnd() ? "end" : String.valueOf(peek())) + "'");
            return b.toString();
        }

        void object(String prefix, boolean braced) throws Failure {
            while (true) {
                skipSpaceAndComments(true);
                if (atEnd()) {
                    if (braced) throw error("missing }");
                    return;
                }
                if (peek() == '}') {
                    if (!braced) throw error("unexpected }");
                    pos++;
                    return;
                }
                if (text.startsWith("include ", pos)) {
                    while (!atEnd() && peek() != '\n') pos++;
                    continue;
                }
                String path = prefix + key();
                skipSpaceAndComments(false);
                if (atEnd()) throw error("key " + path + " without a value");
                if (peek() == '=' || peek() == ':') {
                    pos++;
                } else if (text.startsWith("+=", pos)) {
                    pos += 2;
                } else if (peek() != '{') {
                    throw error("expected = or : after " + path);
                }
                skipSpaceAndComments(false);
                value(path);
            }
        }

        void value(String path) throws Failure {
            if (atEnd()) throw error("key " + path + " without a value");
            char c = peek();
            if (c == '{') {
                pos++;
                object(path + ".", true);
            } else if (c == '[') {
                pos++;
                List<String> items = new ArrayList<>();
                while (true) {
                    skipSpaceAndComments(true);
                    if (atEnd()) throw error("missing ]");
                    if (peek() == ']') { pos++; break; }
                    if (peek() == '{') {
                        // Objects in arrays (static mappings...) are not needed by the stand-in.
                        pos++;
                        Hocon inner = new Hocon(text);
                        inner.pos = pos;
                        inner.object("", true);
                        pos = inner.pos;
                    } else {
                        items.add(scalar());
                    }
                }
                out.put(path, String.join(",", items));
            } else {
                out.put(path, scalar());
            }
        }

        String scalar() throws Failure {
            if (peek() == '"') return quoted();
            int start = pos;
            while (!atEnd()) {
                char c = peek();
                if (c == '\n' || c == ',' || c == '}' || c == ']' || c == '#' || text.startsWith("//", pos)) break;
                pos++;
            }
            return text.substring(start, pos).trim();
        }
    }

    // ------------------------------------------------------------------ XML elements

    static final class Element {
        final String name;
        final String ns;
        final Map<String, String> attrs = new LinkedHashMap<>();
        final List<Element> children = new ArrayList<>();
        final StringBuilder text = new StringBuilder();

        Element(String name, String ns) {
            this.name = name;
            this.ns = ns == null ? "" : ns;
        }

        String attr(String key) {
            return attrs.get(key);
        }

        Element child(String childName, String childNs) {
            for (Element e : children) if (e.name.equals(childName) && (childNs == null || e.ns.equals(childNs))) return e;
            return null;
        }

        /** The first child in the stanza-error namespace, as the error condition. */
        String condition() {
            Element error = child("error", null);
            if (error == null) return "unknown";
            for (Element e : error.children) if (e.ns.equals("urn:ietf:params:xml:ns:xmpp-stanzas") && !e.name.equals("text")) return e.name;
            return "unknown";
        }
    }

    static String esc(String value) {
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;").replace("\"", "&quot;");
    }

    // ------------------------------------------------------------------ XMPP session

    static final class Session {
        final Settings s;
        Socket socket;
        Writer out;
        XMLStreamReader in;
        String jid;
        int ids;

        Session(Settings s) {
            this.s = s;
        }

        synchronized void send(String xml) throws IOException {
            out.write(xml);
            out.flush();
        }

        String nextId() {
            return s.role + "-" + (++ids);
        }

        void open() throws IOException, XMLStreamException, Failure {
            send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='"
                    + esc(s.domain) + "' version='1.0'>");
            XMLInputFactory factory = XMLInputFactory.newInstance();
            factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
            factory.setProperty(XMLInputFactory.IS_COALESCING, true);
            in = factory.createXMLStreamReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            while (in.hasNext()) {
                if (in.next() == XMLStreamConstants.START_ELEMENT) {
                    if (!in.getLocalName().equals("stream")) throw new Failure("server did not open a stream: " + in.getLocalName());
                    return;
                }
            }
            throw new Failure("server closed the connection before opening a stream");
        }

        /** The next top-level element of the stream, or null when the server closed it. */
        Element read() throws XMLStreamException {
            while (in.hasNext()) {
                int event = in.next();
                if (event == XMLStreamConstants.START_ELEMENT) return element();
                if (event == XMLStreamConstants.END_ELEMENT || event == XMLStreamConstants.END_DOCUMENT) return null;
            }
            return null;
        }

        Element element() throws XMLStreamException {
            Element e = new Element(in.getLocalName(), in.getNamespaceURI());
            for (int i = 0; i < in.getAttributeCount(); i++) {
                String prefix = in.getAttributePrefix(i);
                e.attrs.put(prefix == null || prefix.isEmpty() ? in.getAttributeLocalName(i) : prefix + ":" + in.getAttributeLocalName(i), in.getAttributeValue(i));
            }
            while (true) {
                int event = in.next();
                if (event == XMLStreamConstants.START_ELEMENT) e.children.add(element());
                else if (event == XMLStreamConstants.CHARACTERS || event == XMLStreamConstants.CDATA) e.text.append(in.getText());
                else if (event == XMLStreamConstants.END_ELEMENT) return e;
            }
        }

        Element expect(String what) throws XMLStreamException, Failure {
            Element e = read();
            if (e == null) throw new Failure("server closed the stream while waiting for " + what);
            return e;
        }

        void connect() throws Exception {
            log("connecting to " + s.host + ":" + s.port + " for " + s.username + "@" + s.domain);
            socket = new Socket();
            try {
                socket.connect(new InetSocketAddress(s.host, s.port), 15_000);
            } catch (IOException e) {
                throw new Failure("cannot connect to " + s.host + ":" + s.port + ": " + e.getMessage());
            }
            out = new OutputStreamWriter(socket.getOutputStream(), StandardCharsets.UTF_8);
            open();
            Element features = expect("stream features");
            if (features.child("starttls", "urn:ietf:params:xml:ns:xmpp-tls") == null) {
                throw new Failure("the server offers no STARTTLS; the real daemons require TLS");
            }
            send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
            Element proceed = expect("STARTTLS proceed");
            if (!proceed.name.equals("proceed")) throw new Failure("STARTTLS refused: " + proceed.name);
            startTls();
            open();
            authenticate(expect("stream features after TLS"));
            open();
            expect("stream features after authentication");
            String bindId = nextId();
            send("<iq type='set' id='" + bindId + "'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + esc(s.role + "-standin")
                    + "</resource></bind></iq>");
            Element bound = expect("resource binding");
            Element bind = bound.child("bind", "urn:ietf:params:xml:ns:xmpp-bind");
            if (!"result".equals(bound.attr("type")) || bind == null || bind.child("jid", null) == null) {
                throw new Failure("resource binding failed: " + bound.condition());
            }
            jid = bind.child("jid", null).text.toString();
            log("logged in as " + jid);
        }

        void startTls() throws Exception {
            SSLContext context;
            if (s.verifyCertificate) {
                // The JRE's default trust store: on Debian /etc/ssl/certs/java/cacerts, which
                // update-ca-certificates fills from the system CA store.
                context = SSLContext.getDefault();
            } else {
                context = SSLContext.getInstance("TLS");
                TrustManager trustAll = new X509TrustManager() {
                    public void checkClientTrusted(X509Certificate[] chain, String auth) {}
                    public void checkServerTrusted(X509Certificate[] chain, String auth) {}
                    public X509Certificate[] getAcceptedIssuers() {
                        return new X509Certificate[0];
                    }
                };
                context.init(null, new TrustManager[] {trustAll}, new SecureRandom());
            }
            // The certificate must name the XMPP domain (auth.<H>), not the host we dialled.
            SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(socket, s.domain, s.port, true);
            if (s.verifyCertificate) {
                SSLParameters params = tls.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                tls.setSSLParameters(params);
            }
            try {
                tls.startHandshake();
            } catch (IOException e) {
                throw new Failure("TLS handshake with " + s.domain + " failed: " + e.getMessage());
            }
            socket = tls;
            out = new OutputStreamWriter(socket.getOutputStream(), StandardCharsets.UTF_8);
        }

        void authenticate(Element features) throws Exception {
            Element mechanisms = features.child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl");
            Set<String> offered = new TreeSet<>();
            if (mechanisms != null) for (Element m : mechanisms.children) offered.add(m.text.toString().trim());
            Base64.Encoder b64 = Base64.getEncoder();
            if (offered.contains("SCRAM-SHA-1")) {
                byte[] nonceBytes = new byte[18];
                new SecureRandom().nextBytes(nonceBytes);
                String clientNonce = b64.encodeToString(nonceBytes);
                String firstBare = "n=" + s.username.replace("=", "=3D").replace(",", "=2C") + ",r=" + clientNonce;
                send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>"
                        + b64.encodeToString(("n,," + firstBare).getBytes(StandardCharsets.UTF_8)) + "</auth>");
                Element challenge = expect("SCRAM challenge");
                if (!challenge.name.equals("challenge")) throw new Failure("authentication as " + s.username + "@" + s.domain + " failed: " + saslCondition(challenge));
                String serverFirst = new String(Base64.getDecoder().decode(challenge.text.toString().trim()), StandardCharsets.UTF_8);
                Map<String, String> fields = new LinkedHashMap<>();
                for (String part : serverFirst.split(",")) if (part.length() > 2) fields.put(part.substring(0, 1), part.substring(2));
                String nonce = fields.get("r");
                if (nonce == null || !nonce.startsWith(clientNonce)) throw new Failure("SCRAM: the server's nonce does not extend ours");
                byte[] salt = Base64.getDecoder().decode(fields.get("s"));
                int iterations = Integer.parseInt(fields.get("i"));
                byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA1")
                        .generateSecret(new PBEKeySpec(s.password.toCharArray(), salt, iterations, 160)).getEncoded();
                byte[] clientKey = hmac(salted, "Client Key");
                byte[] storedKey = MessageDigest.getInstance("SHA-1").digest(clientKey);
                String finalBare = "c=biws,r=" + nonce;
                String authMessage = firstBare + "," + serverFirst + "," + finalBare;
                byte[] signature = hmac(storedKey, authMessage);
                byte[] proof = new byte[clientKey.length];
                for (int i = 0; i < proof.length; i++) proof[i] = (byte) (clientKey[i] ^ signature[i]);
                send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                        + b64.encodeToString((finalBare + ",p=" + b64.encodeToString(proof)).getBytes(StandardCharsets.UTF_8)) + "</response>");
            } else if (offered.contains("PLAIN")) {
                send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                        + b64.encodeToString(("\0" + s.username + "\0" + s.password).getBytes(StandardCharsets.UTF_8)) + "</auth>");
            } else {
                throw new Failure("the server offers neither SCRAM-SHA-1 nor PLAIN: " + offered);
            }
            Element outcome = expect("authentication outcome");
            if (!outcome.name.equals("success")) {
                throw new Failure("authentication as " + s.username + "@" + s.domain + " failed: " + saslCondition(outcome));
            }
        }

        static String saslCondition(Element e) {
            for (Element c : e.children) if (!c.name.equals("text")) return c.name;
            return e.name;
        }

        static byte[] hmac(byte[] key, String data) throws Exception {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(key, "HmacSHA1"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        }
    }

    // ------------------------------------------------------------------ main

    static volatile boolean inBrewery;
    static final Set<String> bridges = new ConcurrentSkipListSet<>();

    static boolean sameRoom(String from, String roomJid) {
        if (from == null) return false;
        int slash = from.indexOf('/');
        return (slash < 0 ? from : from.substring(0, slash)).equalsIgnoreCase(roomJid);
    }

    static String resourceOf(String jid) {
        int slash = jid == null ? -1 : jid.indexOf('/');
        return slash < 0 ? "" : jid.substring(slash + 1);
    }

    static boolean selfPresence(Element presence) {
        Element x = presence.child("x", NS_MUC_USER);
        if (x == null) return false;
        for (Element status : x.children) if (status.name.equals("status") && "110".equals(status.attr("code"))) return true;
        return false;
    }

    static void startHealth(Settings s) throws Failure {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(s.healthHost, s.healthPort), 0);
            server.createContext("/about/health", exchange -> {
                String problem = null;
                if (!inBrewery) problem = "not in the brewery";
                // As the real jicofo: without an operational bridge it reports itself unhealthy.
                else if (s.role.equals("jicofo") && bridges.isEmpty()) problem = "no bridge in the brewery";
                byte[] body = (problem == null ? "" : problem + "\n").getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(problem == null ? 200 : 500, body.length == 0 ? -1 : body.length);
                if (body.length > 0) exchange.getResponseBody().write(body);
                exchange.close();
            });
            server.createContext("/about/bridges", exchange -> {
                byte[] body = (String.join("\n", bridges) + "\n").getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            server.setExecutor(null);
            server.start();
            log("health endpoint on http://" + s.healthHost + ":" + s.healthPort + "/about/health");
        } catch (IOException e) {
            throw new Failure("cannot listen on " + s.healthHost + ":" + s.healthPort + ": " + e.getMessage());
        }
    }

    static void run(Settings s) throws Exception {
        startHealth(s);
        Session session = new Session(s);
        session.connect();
        // Initial presence: prosody then tells focus.<H> (subscribed in focus's roster) that
        // jicofo is online, which is how mod_client_proxy learns where to forward requests.
        session.send("<presence/>");
        String occupant = s.breweryJid + "/" + s.nickname;
        StringBuilder join = new StringBuilder("<presence to='" + esc(occupant) + "'><x xmlns='" + NS_MUC + "'/>");
        if (s.role.equals("videobridge")) {
            // How a bridge presents itself in the brewery: colibri stats jicofo reads.
            join.append("<stats xmlns='" + NS_COLIBRI + "'>")
                    .append("<stat name='healthy' value='true'/><stat name='drain' value='false'/>")
                    .append("<stat name='graceful_shutdown' value='false'/><stat name='stress_level' value='0.0'/>")
                    .append("<stat name='version' value='" + esc(s.version) + "'/></stats>");
        }
        join.append("</presence>");
        session.send(join.toString());
        long deadline = System.currentTimeMillis() + 30_000;
        while (!inBrewery) {
            if (System.currentTimeMillis() > deadline) throw new Failure("no answer from the brewery " + s.breweryJid + " in 30 s");
            Element stanza = session.expect("the brewery's answer");
            if (!stanza.name.equals("presence") || !sameRoom(stanza.attr("from"), s.breweryJid)) {
                handle(session, stanza);
                continue;
            }
            if ("error".equals(stanza.attr("type")) && resourceOf(stanza.attr("from")).equals(s.nickname)) {
                throw new Failure("joining the brewery " + occupant + " failed: " + stanza.condition());
            }
            if (selfPresence(stanza)) inBrewery = true;
            else handle(session, stanza);
        }
        log("joined the brewery " + occupant);
        Thread keepalive = new Thread(() -> {
            try {
                while (true) {
                    Thread.sleep(30_000);
                    session.send(" ");
                }
            } catch (Exception e) {
                // The reader notices the broken connection and exits.
            }
        });
        keepalive.setDaemon(true);
        keepalive.start();
        while (true) {
            Element stanza;
            try {
                stanza = session.read();
            } catch (XMLStreamException e) {
                stanza = null;
            }
            if (stanza == null) {
                log("the server closed the connection");
                System.exit(EXIT_LOST);
            }
            handle(session, stanza);
        }
    }

    static void handle(Session session, Element stanza) throws IOException {
        Settings s = session.s;
        String from = stanza.attr("from");
        if (stanza.name.equals("presence") && sameRoom(from, s.breweryJid)) {
            String nick = resourceOf(from);
            if (nick.equals(s.nickname)) {
                if ("unavailable".equals(stanza.attr("type"))) {
                    log("removed from the brewery");
                    inBrewery = false;
                    System.exit(EXIT_LOST);
                }
            } else if ("unavailable".equals(stanza.attr("type"))) {
                if (bridges.remove(nick)) log("bridge left the brewery: " + nick);
            } else if (stanza.child("stats", NS_COLIBRI) != null) {
                if (bridges.add(nick)) log("bridge in the brewery: " + nick);
            }
            return;
        }
        if (!stanza.name.equals("iq")) return;
        String type = stanza.attr("type");
        if (!"get".equals(type) && !"set".equals(type)) return;
        String id = stanza.attr("id") == null ? "" : stanza.attr("id");
        String reply = "<iq type='result' id='" + esc(id) + "'" + (from == null ? "" : " to='" + esc(from) + "'");
        Element conference = stanza.child("conference", NS_FOCUS);
        if (stanza.child("ping", "urn:xmpp:ping") != null) {
            session.send(reply + "/>");
        } else if (conference != null && s.role.equals("jicofo")) {
            // A conference request that reached jicofo (through focus.<H>): say the room is ready.
            String room = conference.attr("room") == null ? "" : conference.attr("room");
            log("conference request for " + room + " from " + from);
            session.send(reply + "><conference xmlns='" + NS_FOCUS + "' ready='" + (bridges.isEmpty() ? "false" : "true") + "' room='" + esc(room)
                    + "' focusjid='" + esc(session.jid) + "'/></iq>");
        } else {
            session.send("<iq type='error' id='" + esc(id) + "'" + (from == null ? "" : " to='" + esc(from) + "'")
                    + "><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
        }
    }

    public static void main(String[] args) {
        String role = null;
        for (String arg : args) if (arg.startsWith("--role=")) role = arg.substring("--role=".length());
        String file = System.getProperty("config.file");
        try {
            if (!"jicofo".equals(role) && !"videobridge".equals(role)) throw new Failure("usage: --role=jicofo|videobridge");
            if (file == null) throw new Failure("no -Dconfig.file=<" + role + " config> given");
            Map<String, String> conf;
            try {
                conf = Hocon.parse(Files.readString(Path.of(file)));
            } catch (IOException e) {
                throw new Failure("cannot read " + file + ": " + e);
            }
            Settings s = role.equals("jicofo") ? jicofoSettings(conf, file) : videobridgeSettings(conf, file);
            String version = System.getProperty("standin.version");
            if (version != null) s.version = version;
            log(role + " stand-in " + s.version + " with " + file + " (max heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB)");
            run(s);
        } catch (Failure e) {
            System.err.println("standin " + role + ": " + e.getMessage());
            log("FAILED: " + e.getMessage());
            System.exit(EXIT_FAILED);
        } catch (Exception e) {
            System.err.println("standin " + role + ": " + e);
            log("FAILED: " + e);
            System.exit(EXIT_FAILED);
        }
    }
}
