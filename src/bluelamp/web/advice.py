"""Advice per event type: data in one place, shown next to each threat on the portal and in
every owner notice (bluelamp.act.notify). Written for the administrator of a small business:
what it means, why it matters, and what to do, in plain words.

Lookup order: the finer identifier (a detector name, e.g. `nxdomain-burst`), then the ENISA
type, then the ENISA class of that type, then a general default. Every ENISA type therefore
gets advice that at least fits its class (a test checks this)."""

from __future__ import annotations

from dataclasses import dataclass

from bluelamp import taxonomy


@dataclass(frozen=True)
class Advice:
    title: str
    steps: tuple[str, ...]
    why: str = "Left alone, a problem like this is used against you and against others."


DEFAULT = Advice("Investigate this system", (
    "Find the system that uses the address or name in the event and who runs it.",
    "Check its logs around the time of the event for the activity described.",
    "If it is compromised, isolate it, clean or rebuild it, and change its credentials.",
))

_INFECTED_WHY = ("Malware on one computer steals passwords and banking details, encrypts files "
                 "for ransom and spreads to the other computers in your office.")

ADVICE: dict[str, Advice] = {
    "infected-system": Advice("A system is infected with malware", (
        "Identify the host behind the address (DHCP/NAT logs at the event time).",
        "Isolate it from the network, then scan or preferably rebuild it.",
        "Reset passwords used on it and look for the same malware on other hosts.",
    ), _INFECTED_WHY),
    "c2-server": Advice("A command-and-control server runs on your system", (
        "Take the service offline and preserve disk and memory images for the police.",
        "Find how the attacker got in (web application, stolen credentials) and close it.",
        "Report the incident to your national CERT.",
    ), "Criminals use your server to control infected computers of other victims; your "
       "address gets blocked and you may be asked to account for the traffic."),
    "phishing": Advice("A phishing site is hosted on your system or domain", (
        "Remove the phishing pages and keep a copy of them and of the access logs.",
        "Patch the web application or CMS and change every administrator password.",
        "Tell the brand being imitated and ask the registrar to watch the domain.",
    ), "Every day the page stays up, more people type their bank or mail passwords into "
       "it; your domain ends up on block lists and your own customers stop trusting it."),
    "malware-distribution": Advice("Your system distributes malware", (
        "Remove the malicious files and find how they were uploaded.",
        "Patch the software that allowed the upload and rotate credentials.",
    ), "Visitors of your site or service get infected; browsers and mail filters will "
       "block your domain until it is clean."),
    "spam": Advice("Your system sends spam", (
        "Find the sending process or account; close open relays and compromised mailboxes.",
        "Limit outbound port 25 to your mail servers.",
    ), "Your address lands on spam block lists, so your own mail stops arriving; spam often "
       "carries phishing and malware to others."),
    "ddos": Advice("Your system takes part in denial-of-service attacks", (
        "Find the device (often a router, camera or unpatched server) and update or replace it.",
        "Close UDP services that can be abused for amplification (DNS, NTP, memcached, SSDP).",
    ), "Your connection is used to knock other organisations offline, and it slows your own "
       "network down."),
    "vulnerable-system": Advice("A vulnerable service is exposed", (
        "Update the software to a fixed version or restrict access to it by firewall.",
        "Check the service for signs that it was already exploited.",
    ), "Criminals scan the whole internet for exactly this weakness within hours of it "
       "being published; an exposed service is usually broken into soon."),
    "brute-force": Advice("Your system tries passwords on other systems", (
        "Find the process making the login attempts; it usually runs on a compromised host.",
        "Stop it, check the host for compromise and change the credentials stored on it.",
    ), "A system that attacks others is almost always itself in criminal hands."),
    "system-compromise": Advice("Your system has been compromised", (
        "Isolate the system and preserve its disk and logs before changing anything.",
        "Rebuild it from known-good media, patch it and change every credential it held.",
        "Report the incident to your national CERT.",
    ), "Someone else controls this system: they can read your data, use it for crime and "
       "move on to the rest of your network."),
    "weak-crypto": Advice("A service uses weak or broken encryption", (
        "Disable old protocol versions and weak ciphers (SSLv3, export ciphers).",
        "Update the TLS library and the service to a supported version.",
    ), "Traffic to the service, including passwords, can be read or changed by someone "
       "on the network path."),
    "dga-domain": Advice("A domain of yours looks machine-generated (malware rendezvous)", (
        "Check who registered or delegated the name and whether you use it.",
        "If it is not yours to use, have it suspended and sinkholed with your registrar.",
    ), "Malware uses names like this to find its controllers; a live name keeps infected "
       "computers under criminal control."),
    "scanner": Advice("Your system scans other networks", (
        "Find the scanning process; it is usually a compromised host or misused tool.",
        "Stop it and check the host for compromise.",
    ), "Scanning is how attackers pick their next victims; your address gets blocked and "
       "reported."),
    "undetermined": Advice("A system behaves like malware (unusual DNS activity)", (
        "Identify the computer behind the address at the times given (DHCP/NAT logs).",
        "Run a full malware scan with up-to-date tools, or rebuild the computer.",
        "Change the passwords that were used on it, starting with e-mail and banking.",
    ), "This pattern, hundreds of look-ups of names that do not exist, is typical of "
       "malware searching for its controller."),
    "blocklist": Advice("Your address or domain is on a block list", (
        "Find what the address or domain was used for at the time (web, mail, proxy).",
        "Remove the cause, then ask the list operator to delist it.",
    ), "Block lists are used by mail and web filters worldwide: while listed, your mail and "
       "web traffic is refused."),
    "proxy": Advice("Your system is an open proxy or anonymising relay", (
        "Close or password-protect the proxy service, or restrict it to your own network.",
        "Check the host for malware that installed a proxy without your knowledge.",
    ), "Criminals route fraud and attacks through open proxies so that they appear to "
       "come from you."),
    "tor": Advice("A Tor relay or exit runs on your system", (
        "Check whether someone in your organisation runs it on purpose.",
        "If not, remove it and check the host for compromise.",
    ), "Traffic of unknown people leaves through your address; abuse complaints come to you."),
    "ddos-amplifier": Advice("A service can be abused to amplify attacks", (
        "Close the UDP service to the internet (DNS resolver, NTP, SSDP, memcached, SNMP) "
        "or restrict it to your own addresses.",
        "Update the device or change its settings so that it does not answer strangers.",
    ), "Attackers send small spoofed requests and your service fires large answers at "
       "their victim, using your bandwidth."),
    "potentially-unwanted-accessible": Advice("A service is reachable that should not be", (
        "Close the port on your firewall or router unless the service must be public.",
        "If it must be public, protect it with strong passwords and updates.",
    ), "Services meant for the inside (remote desktop, databases, printers, cameras) are "
       "what attackers look for first."),
    "information-disclosure": Advice("A service leaks information", (
        "Turn off the feature that discloses data, or restrict it to trusted addresses.",
        "Check what was exposed and whether credentials must be changed.",
    ), "Leaked details help attackers plan a break-in and may breach data protection law."),
    "application-compromise": Advice("A web application or other software was taken over", (
        "Take the application offline or into maintenance mode and keep its logs.",
        "Restore it from a clean backup, update it and all plug-ins, change all passwords.",
    ), "An attacker can change your site, steal customer data or use it against visitors."),
    "malware-configuration": Advice("Your system hosts malware configuration", (
        "Remove the files and find how they were placed there.",
        "Patch the software that allowed the upload and change the credentials.",
    ), "Infected computers elsewhere fetch their instructions from your system."),
    "exploit": Advice("Your system tries to exploit others", (
        "Find the process sending the attacks; the host is most likely compromised.",
        "Isolate and rebuild it, then change the credentials stored on it.",
    ), "A system that attacks others is almost always itself in criminal hands."),
}

#: class-level advice, for types that have no entry of their own
CLASS_ADVICE: dict[str, Advice] = {
    "abusive-content": ADVICE["spam"],
    "malicious-code": ADVICE["infected-system"],
    "information-gathering": ADVICE["scanner"],
    "intrusion-attempts": ADVICE["brute-force"],
    "intrusions": ADVICE["system-compromise"],
    "availability": ADVICE["ddos"],
    "information-content-security": Advice("Data may have been accessed or leaked", (
        "Find which data and which system are concerned, and close the access.",
        "Change the credentials involved and check your legal duty to report a breach.",
    ), "Leaked customer or staff data harms them and may breach data protection law."),
    "fraud": Advice("Your system or name is used for fraud", (
        "Find the pages, accounts or services involved and take them down.",
        "Change administrator passwords and update the software that was abused.",
    ), "Your name and systems lend credibility to criminals who steal from others."),
    "vulnerable": ADVICE["vulnerable-system"],
}

#: finer identifiers (detector or report names) with advice more precise than their type
IDENTIFIER_ADVICE: dict[str, Advice] = {
    "nxdomain-burst": ADVICE["undetermined"],
}


def advice_for(event_type: str | None, identifier: str | None = None) -> Advice:
    """The most specific advice for an event: identifier > type > class > default."""
    if identifier and identifier in IDENTIFIER_ADVICE:
        return IDENTIFIER_ADVICE[identifier]
    if event_type in ADVICE:
        return ADVICE[event_type]
    klass = taxonomy.CLASS_OF_TYPE.get(event_type or "")
    return CLASS_ADVICE.get(klass or "", DEFAULT)
