"""The application factory: configuration, extensions, blueprints, errors, CLI."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.config import Config, config_from_env


def create_app(config: type[Config] | None = None, **overrides: Any) -> Flask:
    config = config or config_from_env()
    config.check()
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config)
    app.config.update(overrides)
    from app.json_provider import JSONProvider

    app.json = JSONProvider(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        from app.access import FromProxiesOnly, networks

        hops = int(app.config["TRUSTED_PROXIES"])
        proxies = networks(app.config["TRUSTED_PROXY_ADDRESSES"], "TRUSTED_PROXY_ADDRESSES")
        app.wsgi_app = FromProxiesOnly(  # type: ignore[method-assign]
            app.wsgi_app,
            ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops),
            proxies,
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        from app.config import INSTANCE_DIR

        INSTANCE_DIR.mkdir(exist_ok=True)

    from app.extensions import (
        babel,
        bootstrap,
        cache,
        compress,
        csrf,
        db,
        install_gettext,
        limiter,
        login_manager,
        migrate,
        parsed_locale,
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=parsed_locale)
    install_gettext(app)  # after Babel's: its callables replaced
    bootstrap.init_app(app)
    compress.init_app(app)
    if app.config["CACHE_KEY_PREFIX"] == "civic:":
        # Deployments (and test databases) sharing one Redis never read each other's entries.
        import hashlib

        database = hashlib.sha256(app.config["SQLALCHEMY_DATABASE_URI"].encode()).hexdigest()
        app.config["CACHE_KEY_PREFIX"] = f"civic:{database[:12]}:"
    cache.init_app(app)
    from app import ratelimits  # noqa: F401  (registers the fallback+redis:// storage)

    limiter.init_app(app)

    from app import access, models  # noqa: F401  (user loader; every table for migrations)
    from app.account import bp as account_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.authoring import bp as authoring_bp
    from app.briefs import bp as briefs_bp
    from app.certificates import bp as certificates_bp
    from app.contests import bp as contests_bp
    from app.dashboards import bp as dashboards_bp
    from app.jobs.routes import bp as jobs_bp
    from app.main import bp as main_bp
    from app.officer import bp as officer_bp
    from app.parse import IdConverter
    from app.surveys import bp as surveys_bp

    app.url_map.converters["int"] = IdConverter  # ids stop at 2**31-1: 404 beyond, not a 500
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(officer_bp, url_prefix="/officer")
    app.register_blueprint(authoring_bp, url_prefix="/officer/content")
    app.register_blueprint(contests_bp, url_prefix="/contests")
    app.register_blueprint(surveys_bp, url_prefix="/surveys")
    app.register_blueprint(dashboards_bp, url_prefix="/results")
    app.register_blueprint(briefs_bp, url_prefix="/briefs")
    app.register_blueprint(jobs_bp, url_prefix="/jobs")
    app.register_blueprint(certificates_bp, url_prefix="/certificates")
    app.register_blueprint(api_bp, url_prefix="/api/v1")

    from app import (
        assets,
        cli,
        db_read,
        devices,
        errors,
        formats,
        jobs,
        logs,
        metrics,
        request_log,
        security,
    )

    @app.context_processor
    def _locale() -> dict[str, Any]:
        from app.formats import language

        return {"current_locale": language}

    from app.surveys import mixing

    request_log.init_app(app)  # first: the id exists before any other hook can fail
    metrics.init_app(app)  # after it: times each request from request_log's start
    db_read.init_app(app)
    formats.init_app(app)
    assets.init_app(app)  # before security: its headers (no-store) are set first, then these
    security.init_app(app)
    mixing.init_app(app)
    devices.init_app(app)
    errors.init_app(app)
    logs.init_app()
    cli.init_app(app)
    jobs.init_app(app)
    return app
