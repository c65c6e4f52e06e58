"""The plain-Python baseline for `keylab bench mask`: the same rules as keylab's rule sets,
written the way a data engineer would in a script (csv + hmac from the standard library).

usage: python3 mask_baseline.py RULESET INPUT OUTPUT KEY_HEX
RULESET: one-hmac (the email column only) or mask-and-hmac (six columns).
"""

import base64
import csv
import hashlib
import hmac
import sys


def mask(value, keep_first=0, keep_last=0, ignore="-"):
    maskable = sum(1 for c in value if c not in ignore)
    out, seen = [], 0
    for c in value:
        if c in ignore:
            out.append(c)
            continue
        seen += 1
        out.append(c if seen <= keep_first or seen > maskable - keep_last else "*")
    return "".join(out)


def main():
    ruleset, src, dst, key_hex = sys.argv[1:5]
    master = bytes.fromhex(key_hex)
    # The same per-column key derivation as keylab, so tokens can be compared.
    key = hmac.new(master, b"keylab-mask/v1/hmac_token/email", hashlib.sha256).digest()

    def token(value):
        if not value:
            return value
        tag = hmac.new(key, value.strip().lower().encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(tag).rstrip(b"=").decode()

    with open(src, newline="") as f, open(dst, "w", newline="") as g:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames)
        if ruleset == "mask-and-hmac":
            columns.remove("name")
        writer = csv.DictWriter(g, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in reader:
            row["email"] = token(row["email"])
            if ruleset == "mask-and-hmac":
                row["phone"] = mask(row["phone"], keep_last=4)
                row["ssn"] = mask(row["ssn"], keep_last=4)
                row["card_number"] = mask(row["card_number"], keep_first=6, keep_last=4)
                row["birth_date"] = row["birth_date"][:4]
            writer.writerow(row)


if __name__ == "__main__":
    main()
