// Only the Bootstrap rules the app uses: every class, tag and attribute named in the templates
// (ours and Bootstrap-Flask's form macros), the scripts and the Python that writes class names.
// Run by `make css` (scripts/build_css.py), which passes the Bootstrap file and the output.
module.exports = {
  content: [
    "../../app/templates/**/*.html",
    "../../app/static/js/**/*.js",
    "../../app/**/*.py",
    // Bootstrap-Flask's macros (render_field): their folder, from scripts/build_css.py.
    `${process.env.BOOTSTRAP_FLASK_TEMPLATES}/bootstrap5/*.html`,
  ],
  // Class names the templates build from a value (`alert-{{ category }}`), and the states
  // that only the browser's validation or a script adds.
  safelist: {
    standard: [/^alert-/, /^text-bg-/, "was-validated", "is-invalid", "is-valid"],
  },
  variables: true,
  keyframes: true,
  fontFace: true,
};
