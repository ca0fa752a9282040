// Chart.js is loaded as a classic script (vendor/chart.umd.min.js), which defines window.Chart
// with every controller, element, scale and plugin registered.
declare const Chart: typeof import("chart.js").Chart;
type ChartT = import("chart.js").Chart;
type ChartConfig = import("chart.js").ChartConfiguration;
type ChartPlugin = import("chart.js").Plugin;
type TooltipItem = import("chart.js").TooltipItem<"scatter">;
