/** CloudWatch dashboards are 24 grid units wide; widgets are sized in fractions of it. */
export const DASHBOARD_WIDTH = 24;
