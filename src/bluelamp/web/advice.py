"""Advice for subscribers, per event type: data in one place, shown next to each threat."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Advice:
    title: str
    steps: tuple[str, ...]


DEFAULT = Advice("Investigate this system", (
    "Find the system that uses the address or name in the event and who runs it.",
    "Check its logs around the time of the event for the activity described.",
    "If it is compromised, isolate it, clean or rebuild it, and change its credentials.",
))

ADVICE: dict[str, Advice] = {
    "infected-system": Advice("A system is infected with malware", (
        "Identify the host behind the address (DHCP/NAT logs at the event time).",
        "Isolate it from the network, then scan or preferably rebuild it.",
        "Reset passwords used on it and look for the same malware on other hosts.",
    )),
    "c2-server": Advice("A command-and-control server runs on your system", (
        "Take the service offline and preserve disk and memory images for the police.",
        "Find how the attacker got in (web application, stolen credentials) and close it.",
        "Report the incident to your national CERT.",
    )),
    "phishing": Advice("A phishing site is hosted on your system or domain", (
        "Remove the phishing pages and keep a copy of them and of the access logs.",
        "Patch the web application or CMS and change every administrator password.",
        "Tell the brand being imitated and ask the registrar to watch the domain.",
    )),
    "malware-distribution": Advice("Your system distributes malware", (
        "Remove the malicious files and find how they were uploaded.",
        "Patch the software that allowed the upload and rotate credentials.",
    )),
    "spam": Advice("Your system sends spam", (
        "Find the sending process or account; close open relays and compromised mailboxes.",
        "Limit outbound port 25 to your mail servers.",
    )),
    "ddos": Advice("Your system takes part in denial-of-service attacks", (
        "Find the device (often a router, camera or unpatched server) and update or replace it.",
        "Close UDP services that can be abused for amplification (DNS, NTP, memcached, SSDP).",
    )),
    "vulnerable-system": Advice("A vulnerable service is exposed", (
        "Update the software to a fixed version or restrict access to it by firewall.",
        "Check the service for signs that it was already exploited.",
    )),
    "brute-force": Advice("Your system tries passwords on other systems", (
        "Find the process making the login attempts; it usually runs on a compromised host.",
        "Stop it, check the host for compromise and change the credentials stored on it.",
    )),
    "system-compromise": Advice("Your system has been compromised", (
        "Isolate the system and preserve its disk and logs before changing anything.",
        "Rebuild it from known-good media, patch it and change every credential it held.",
        "Report the incident to your national CERT.",
    )),
    "weak-crypto": Advice("A service uses weak or broken encryption", (
        "Disable old protocol versions and weak ciphers (SSLv3, export ciphers).",
        "Update the TLS library and the service to a supported version.",
    )),
    "dga-domain": Advice("A domain of yours looks machine-generated (malware rendezvous)", (
        "Check who registered or delegated the name and whether you use it.",
        "If it is not yours to use, have it suspended and sinkholed with your registrar.",
    )),
    "scanner": Advice("Your system scans other networks", (
        "Find the scanning process; it is usually a compromised host or misused tool.",
        "Stop it and check the host for compromise.",
    )),
}


def advice_for(event_type: str | None) -> Advice:
    return ADVICE.get(event_type or "", DEFAULT)
