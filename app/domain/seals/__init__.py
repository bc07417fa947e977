"""Agency electronic seals: requests and issuance (``requests``), activations and codes (``activation``), sealing (``sealing``).

How a seal key is protected at rest. The key pair is generated in the HSM; the private key leaves it only
wrapped under the token's KEK (AES-KWP), and that wrapped key is encrypted (AES-256-GCM) under a random
32-byte secret of the seal (``signer.seals``). The secret is never stored in the clear:

- its resting copy (``Seal.rest_secret``) is encrypted under a key the HSM computes (HMAC under the token key
  ``paraf-seal-codes``, which never leaves it), and is read only to start an activation, whose codes go to the
  custodians alone (e-mail/WhatsApp through the outbox, sealed there and wiped once sent);
- each live code (a custodian's activation code, the client's activation code after a refresh, a sealing
  code) carries its own copy, encrypted under a key derived in the HSM from the code, and the code itself is
  kept only as a hash of that HSM-derived value (``SealCode``). Sealing opens the key with the copy that the
  presented sealing code decrypts: without the code, the server cannot open the key for that call.

A copy of the database is useless without the HSM and no offline oracle for the short codes (each guess is
an HSM operation); a stolen API secret alone gets no further than asking for an activation, which notifies
the custodians and produces codes only they receive. Wrong codes are counted per seal (atomically, like wrong
passphrases) and lock the seal after ``SEAL_MAX_WRONG_CODES``; a custodian lifts the lock. A code's copy of
the secret is wiped when the code is used up, superseded or its activation ends; ending an activation
(or revoking the seal) leaves nothing in the database that opens the key but the resting copy.
"""
