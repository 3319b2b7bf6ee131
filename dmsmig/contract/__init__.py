"""The AWS contract: what AWS accepts, in one place.

- :mod:`dmsmig.contract.model` reads AWS's own API model (botocore's service models).
- :mod:`dmsmig.contract.facts` is the fact table: every documented fact the program relies on,
  as data, each with the page or model shape that states it.
- :mod:`dmsmig.contract.shapes` checks a request against its botocore shape (required members,
  types, enums, lengths, patterns); :mod:`dmsmig.contract.requests` turns declared resources into
  the API requests they become; :mod:`dmsmig.contract.check` applies both to a whole stack.

This package is the bottom layer: it imports nothing else from ``dmsmig``.
"""
