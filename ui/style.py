"""The chat page's stylesheet (source cards, highlighted quotes and short answers).

Text is set in the system's fonts: Gradio's bundled semibold Source Sans Pro (and IBM
Plex Mono) files hold only a few glyphs, so bold text mixed faces ("A" and "B" in one
font, the other letters in another). With the theme's font variables pointing at the
system stacks, those files are never used, so never downloaded.
"""

SANS = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", '
        "Arial, sans-serif")
MONO = 'ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace'

FONTS = f":root, .dark, .gradio-container {{--font: {SANS}; --font-mono: {MONO}}}\n"

CSS = FONTS + """
#nq-header h1 {margin: 0 0 .1rem 0; font-size: 1.6rem}
#nq-header p {margin: 0; color: var(--body-text-color-subdued)}
/* The panel's "Sources" label floats over its top: the content starts below it. */
.nq-sources {display: flex; flex-direction: column; gap: .7rem; padding: 1.4rem .2rem .2rem}
.nq-empty {display: block; color: var(--body-text-color-subdued); padding: 1.4rem .4rem .6rem}
.nq-empty p {margin: 0 0 .4rem}
.nq-empty ul {margin: 0; padding-left: 1.2rem}
.nq-card {border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .6rem .8rem; background: var(--background-fill-secondary)}
.nq-title {font-weight: 600; line-height: 1.35}
.nq-meta {font-size: .85em; color: var(--body-text-color-subdued); margin: .15rem 0 .3rem}
.nq-meta a {color: var(--link-text-color)}
.nq-quote {display: grid; grid-template-columns: 2.1em 1fr; column-gap: .2rem;
  padding: .45rem 0 .2rem; border-top: 1px solid var(--border-color-primary)}
.nq-n {color: var(--color-accent); font-weight: 700}
.nq-passage {font-size: .92em; line-height: 1.5; white-space: pre-wrap}
.nq-offsets {grid-column: 2; font-size: .75em; color: var(--body-text-color-subdued)}
.nq-article summary {cursor: pointer; font-size: .85em; margin-top: .3rem;
  color: var(--link-text-color)}
.nq-article-text {white-space: pre-wrap; font-size: .9em; line-height: 1.5;
  max-height: 420px; overflow-y: auto; margin-top: .4rem; padding-top: .4rem;
  border-top: 1px dashed var(--border-color-primary)}
.nq-sources mark {background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px}
.nq-sources mark.nq-current {background: #fbbf24; font-weight: 600}
.nq-sources .nq-answer {background: #86efac; color: #14532d; border-radius: 2px;
  padding: 0 .1em; font-weight: 700}
.nq-legend {font-size: .8em; color: var(--body-text-color-subdued)}
.nq-legend mark, .nq-legend .nq-answer {padding: 0 .3em}
#nq-sources {overflow-y: auto}
#nq-status {font-size: .92em}
.nq-watched {display: flex; flex-direction: column; gap: .6rem}
.nq-watch-now {margin: .2rem 0}
.nq-changes {margin: .3rem 0 0; padding-left: 1.1rem; font-size: .92em}
.nq-change-cite {font-size: .9em; margin: .15rem 0 0 .4rem}
"""
