"""Evidence packages: what a requested State finally sends.

A package is a BagIt bag (RFC 8493) with SHA-256 and SHA-512 manifests, the
chain of custody as CASE/UCO JSON-LD, the use conditions that travel with the
data (40(19), 40(20), 36(3)) and the sending node's signature, serialized as
a tar stream and encrypted with age (age-encryption.org/v1) to the receiving
node. Everything here is an open format a State can check with tools it
already has: ``age -d``, ``tar``, ``bagit.py --validate``, ``case_validate``.
See docs/evidence.md.
"""
