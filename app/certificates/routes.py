"""Certificates: the public verification page (`/certificates/<code>`, api.md), the holder's
PDF download, and revocation by officers who manage the contest. Rules live in
app.services.certificates."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from app import clock
from app.access import roles_required
from app.certificates import bp
from app.downloads import named_file
from app.extensions import db
from app.models import Attempt, Certificate, Unit
from app.services import certificates as service
from app.services import policy
from app.services.brief import pdf


def may_revoke(certificate: Certificate) -> bool:
    """Officers and admins who manage the contest's owner unit (policy.may_manage)."""
    if not current_user.is_authenticated or current_user.role not in policy.MANAGERS:
        return False
    owner = db.session.get(Unit, certificate.attempt.round.contest.owner_unit_code)
    return policy.may_manage(current_user, owner)


def _verify_page(certificate: Certificate, status: int = 200) -> tuple[str, int]:
    details = service.details(db.session, certificate)
    page = render_template(
        "certificates/verify.html",
        d=details,
        form=FlaskForm(),
        may_revoke=may_revoke(certificate),
    )
    return page, status


@bp.get("/<code>")
def verify(code: str) -> tuple[str, int] | Response:
    certificate = service.find(db.session, code)
    if certificate is None:
        return render_template("certificates/unknown.html", code=code[:40]), 404
    if code != certificate.code:  # typed with a dash or in lower case: one address per code
        return redirect(url_for(".verify", code=certificate.code), 301)  # type: ignore[return-value]
    page, status = _verify_page(certificate)
    response = Response(page, status)
    response.headers["Cache-Control"] = "no-store"  # a revocation shows at once
    return response


@bp.post("/<code>/revoke")
@roles_required(*policy.MANAGERS)
def revoke(code: str) -> tuple[str, int] | Response:
    certificate = service.find(db.session, code) or abort(404)
    if not may_revoke(certificate):
        abort(403)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.revoke(
            db.session, certificate, current_user, request.form.get("reason", ""), clock.now()
        )
    except service.CertificateError as error:
        return render_template(
            "errors/error.html", status=error.status, message=_(error.message)
        ), error.status
    return redirect(url_for(".verify", code=certificate.code))  # type: ignore[return-value]


@bp.get("/attempt/<int:attempt_id>.pdf")
@login_required
def download(attempt_id: int) -> tuple[str, int] | Response:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)  # another person's attempt is not told apart from none
    try:
        certificate = service.issue(db.session, attempt, clock.now(), clock.grace())
    except service.CertificateError as error:
        return render_template(
            "errors/error.html", status=error.status, message=_(error.message)
        ), error.status
    return certificate_pdf(certificate)


def certificate_pdf(certificate: Certificate) -> Response:
    """The certificate as an A4 PDF file (the page and the API send the same bytes' kind)."""
    details = service.details(db.session, certificate)
    url = url_for("certificates.verify", code=certificate.code, _external=True)
    html = render_template(
        "certificates/certificate.html", d=details, url=url, qr=service.qr_svg(url)
    )
    response = named_file(
        pdf(html), "application/pdf", f"giay-chung-nhan-{certificate.code}.pdf", inline=True
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
