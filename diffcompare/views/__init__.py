"""Views of the one DataFrame: CSV and Markdown files, report.html, LaTeX, plots, palette, terminal, notebook."""
