/* report.js: sorting, filtering, tooltips and the scenario switch. */
