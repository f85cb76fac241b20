"""The two-stage wizard: a bench profile from products, a stage-2 server, extras and a base.

The wizard checks each page with the core (:mod:`algodesk.core.profile`, ``stage1``) before it
moves on, previews the stage-1 file with the password masked and the document checks run on it,
and saves a named profile: settings through the :class:`ProfileStore` (no secret), the password
through the :class:`CredentialStore` (the keyring, or memory when there is none).
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget, QWizard

from algodesk.core import names
from algodesk.core.checks import STAGE1, check_document
from algodesk.core.profile import BenchProfile, ProfileError, check_name, check_product
from algodesk.core.stage1 import ServerTarget, Stage1, build_stage1, check_password, parse_server
from algodesk.services.bench_files import load_base
from algodesk.services.credentials import CredentialStore, Storage
from algodesk.services.profiles import ProfileStore
from algodesk.ui.stage1.wizard_pages import ExtrasPage, PreviewPage, ProductsPage, ServerPage
from algodesk.ui.widgets.text import count

_FILES_LISTED = 6


class StageOneWizard(QWizard):
    """New (or edited) bench profile for two-stage provisioning.

    Args:
        profiles: where the profile is saved.
        credentials: where its password goes.
        existing: a profile to edit (its password stays stored unless a new one is typed).
    """

    def __init__(
        self,
        profiles: ProfileStore,
        credentials: CredentialStore,
        existing: BenchProfile | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Two-stage provisioning profile")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.resize(760, 640)
        self.profiles, self.credentials, self.existing = profiles, credentials, existing
        self.saved: BenchProfile | None = None
        self.password_storage: Storage | None = None
        self.products_page = ProductsPage(self)
        self.server_page = ServerPage(self)
        self.extras_page = ExtrasPage(self)
        self.preview_page = PreviewPage(self)
        for page in (self.products_page, self.server_page, self.extras_page, self.preview_page):
            self.addPage(page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Save profile")
        if existing is not None:
            self.products_page.name.setText(existing.name)
            self.products_page.choose(existing.products, existing.any_product)
            self.server_page.fill(existing, credentials.state(existing, command_line=False))
            self.extras_page.fill(existing)

    # --- from the form to a profile ---------------------------------------------------------------
    def _products(self) -> tuple[str, tuple[str, ...], bool]:
        page = self.products_page
        name = check_name(page.name.text().strip())
        any_product = page.any_product.isChecked()
        products = () if any_product else tuple(check_product(p) for p in page.chosen())
        if not any_product and not products:
            raise ProfileError("choose at least one product, or 'any product'")
        return name, products, any_product

    def _server(self) -> tuple[ServerTarget, str | None]:
        page = self.server_page
        text = page.server.text().strip()
        method = None if "://" in text else page.method_value()
        target = parse_server(text, method=method, user=page.user.text().strip() or None)
        cfgpath = page.cfgpath.text().strip().strip("/")
        if cfgpath and target.cfgpath and cfgpath != target.cfgpath:
            raise ProfileError(
                f"the URL's path ({target.cfgpath}) and the config path ({cfgpath}) differ"
            )
        if cfgpath:
            target = ServerTarget(target.method, target.host, cfgpath, target.user)
        check_password(page.password.text())
        fwpath = None if page.same_fwpath.isChecked() else page.fwpath.text().strip().strip("/")
        return target, fwpath

    def profile(self) -> BenchProfile:
        """The profile the form describes; ``ValueError`` (the core's message) when it cannot be."""
        name, products, any_product = self._products()
        target, fwpath = self._server()
        return BenchProfile(
            name=name,
            host=target.host,
            method=target.method,
            cfgpath=target.cfgpath,
            fwpath=fwpath,
            user=target.user,
            products=products,
            any_product=any_product,
            extras=tuple(self.extras_page.extras()),
            validate_cert=self.server_page.validate_cert.isChecked(),
            base_file=self.extras_page.base(),
            ca_file=self.server_page.ca_file.text().strip(),
        )

    def _stored_password(self) -> str:
        existing = self.existing
        if existing is None or not existing.has_password:
            return ""
        return self.credentials.get_password(existing.name) or ""

    def password(self) -> str:
        """The password typed, else the one stored for the profile being edited."""
        return self.server_page.password.text() or self._stored_password()

    def stage1(self) -> Stage1:
        """The stage-1 config of the form (a ``ConfigError`` when the base cannot be read)."""
        profile = self.profile()
        return build_stage1(profile, self.password(), load_base(profile))

    # --- pages -----------------------------------------------------------------------------------
    def validateCurrentPage(self) -> bool:
        """Let the core check what the current page holds before moving on."""
        page = self.currentPage()
        checks = {
            self.products_page: self._products,
            self.server_page: self._server,
            self.extras_page: self.stage1,
        }
        check = checks.get(page)
        problem = getattr(page, "problem", None)
        if check is not None and problem is not None:
            try:
                check()
            except ValueError as error:  # ProfileError, Stage1Error and ConfigError
                problem.setText(str(error))
                return False
            problem.clear()
        return bool(super().validateCurrentPage())

    def initializePage(self, page_id: int) -> None:
        """Fill the preview when it is reached."""
        super().initializePage(page_id)
        if self.page(page_id) is self.preview_page:
            self.refresh_preview()

    def refresh_preview(self) -> None:
        """Show the stage-1 file (masked), the files served and the checks' findings."""
        page = self.preview_page
        try:
            stage1 = self.stage1()
        except ValueError as error:
            page.problem.setText(str(error))
            return
        page.problem.clear()
        page.text.setPlainText(stage1.preview())
        served = list(stage1.files(conf_md5=True))
        listed = ", ".join(served[:_FILES_LISTED]) + (", …" if len(served) > _FILES_LISTED else "")
        page.files.setText(
            f"Serves {count(len(served), 'file')} from memory: {listed}. "
            f"Devices then fetch from {stage1.document.get('prov.download.method', '')}://"
            f"{stage1.document.get('prov.server.static', '')}."
        )
        name = names.generic_name(stage1.products[0])
        # The stage-1 rules, not the folder rules (domain.md §8): the file carries the stage-2
        # password and hands devices on, so "secrets in a generic file" does not apply.
        findings = check_document(name, stage1.document, STAGE1)
        profile = self.profile()
        password_notes = []
        if profile.user and not self.password():
            password_notes.append(
                (
                    "warning",
                    f"user {profile.user} has no password: devices will log in with an empty "
                    "one (type it on the Stage-2 server page)",
                )
            )
        page.show_checks(
            name,
            password_notes
            + [("warning", warning) for warning in stage1.warnings]
            + [
                (str(f.severity), f.message)
                for f in findings
                # said above in the wizard's own words, with where to type the password
                if not (password_notes and f.code == "stage1-user-no-password")
            ],
        )
        if not self.credentials.persistent:
            page.setSubTitle(
                "Saved as a bench profile: the settings in a file; this computer has no keyring, "
                "so the password stays in memory until algodesk closes (never in a file). "
                "Serving puts the files in the server's memory, never on disk."
            )

    # --- saving ----------------------------------------------------------------------------------
    def save(self) -> BenchProfile:
        """Save the profile and its password; ``ValueError`` or ``OSError`` when it cannot be."""
        profile = self.profile()
        typed = self.server_page.password.text()
        password = typed or self._stored_password()
        editing = self.existing is not None and self.existing.name == profile.name
        if not editing and self.profiles.exists(profile.name):
            raise ProfileError(f"a profile named {profile.name!r} exists: choose another name")
        profile = profile.with_password_flag(bool(password))
        self.profiles.save(profile)
        if password and (typed or not editing):
            # A new password, or the stored one following a renamed profile.
            self.password_storage = self.credentials.set_password(profile.name, password)
        self.saved = profile
        return profile

    def accept(self) -> None:
        """Save, then close; stay open and say why when saving fails."""
        try:
            self.save()
        except (ValueError, OSError) as error:
            self.preview_page.problem.setText(f"Not saved: {error}")
            return
        super().accept()
