"""Make an Ed25519 key pair for the audit log's checkpoints: the private key to a file, the public key printed."""

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from flowadmin.audit import signing
from flowadmin.audit.keys import key_file_write, signing_key

EXISTS = "{path} exists already: a signing key is never overwritten (move it away first)."
NO_KEY = "No signing key is configured (AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE, or DEBUG's development key)."


class Command(BaseCommand):
    help = (
        "Write a new checkpoint signing key to PATH (readable by its owner only) and print its public key; "
        "--show prints the public key of the configured signing key."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="the file to write the private key to")
        parser.add_argument("--show", action="store_true", help="print the public key of the configured signing key")

    def handle(self, *args, path: str | None, show: bool, **options):
        if show:
            try:
                key = signing_key()
            except ImproperlyConfigured as error:
                raise CommandError(str(error)) from None
            if key is None:
                raise CommandError(NO_KEY)
            self._print_public(key.public, source=key.source)
            return
        if not path:
            raise CommandError("Give the file to write the private key to, or --show.")
        target = Path(path)
        private = Ed25519PrivateKey.generate()
        try:
            key_file_write(target, private)
        except FileExistsError:
            raise CommandError(EXISTS.format(path=target)) from None
        self.stdout.write(f"Private key written to {target} (mode 600). Keep it out of the database and its backups.")
        self.stdout.write("Configure the application with:")
        self.stdout.write(f"  AUDIT_SIGNING_KEY_FILE={target.resolve()}")
        self._print_public(private.public_key(), source="")

    def _print_public(self, public, *, source: str) -> None:
        text = signing.public_key_text(public)
        origin = f" ({source})" if source else ""
        self.stdout.write(f"  AUDIT_VERIFY_KEY={text}")
        self.stdout.write(
            f"Public key{origin}, key id {signing.key_id(public)}: give it to auditors; it only verifies."
        )
        self.stdout.write(text)
