"""Federation: node keys, the signed directory, sealed envelopes and signed receipts.

Everything that leaves a node is JOSE (RFC 7515/7516/8037/9864): an envelope is
a JWS (Ed25519) by the sending node over a JWE (ECDH-ES with X25519, A256GCM)
to the receiving node, so any State can verify and open what it received with
a JOSE library it already trusts. Raw JOSE calls live in ``crypto.py`` only.
"""
