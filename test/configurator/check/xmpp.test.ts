import test from 'ava';
import { attribute, escapeXml, occupantNick, rosterItems, unescapeXml } from '../../../src/configurator/check/xmpp.js';

test('occupants: prosody names the room with its localpart lower-cased; the nickname is compared exactly', (t) => {
  const room = 'JvbBrewery@internal.auth.meet.jitsi.test';
  t.is(occupantNick('jvbbrewery@internal.auth.meet.jitsi.test/jvb-probe', room), 'jvb-probe');
  t.is(occupantNick('JvbBrewery@internal.auth.meet.jitsi.test/Focus', room), 'Focus');
  t.is(occupantNick('other@internal.auth.meet.jitsi.test/jvb', room), undefined);
  t.is(occupantNick('jvbbrewery@internal.auth.meet.jitsi.test', room), undefined);
});

test('roster items and attributes are read with either quote and unescaped', (t) => {
  const xml = `<iq type='result' id='roster1'><query xmlns='jabber:iq:roster'><item jid='focus.h.test' subscription='both'/><item subscription="to" jid="a&amp;b@h.test"></item><item/></query></iq>`;
  t.deepEqual(rosterItems(xml), [
    { jid: 'focus.h.test', subscription: 'both' },
    { jid: 'a&b@h.test', subscription: 'to' },
  ]);
  t.is(attribute(xml, 'type'), 'result');
  t.is(unescapeXml(escapeXml(`<a b='c' d="e">&`)), `<a b='c' d="e">&`);
});
