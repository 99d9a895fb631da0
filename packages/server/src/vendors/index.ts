/** Vendors' public status pages (Atlassian Statuspage format), polled for incident triage. */
export {
  parseStatuspageSummary,
  type StatuspageSummary, type StatuspageComponent, type StatuspageIncident, type StatuspageIndicator,
  type ComponentStatus, type IncidentImpact, type StatuspageError, type StatuspageParse,
} from './summary.ts';
export {
  StatuspagePoller, statuspageSummaryUrl,
  type Vendor, type VendorPoll, type VendorPollError, type VendorPollErrorCode, type VendorLog, type StatuspagePollerOptions,
} from './poller.ts';
