"""Electronic supervision (电子监察): sweeps for yellow and red cards, anomalies, efficiency, event logs."""
