"""``lambdaops dashboard``: a CloudWatch dashboard and availability alarms from a function's log.

Nothing here runs in Lambda: ``import lambdaops`` never imports this package, and the
command imports it only when it runs. The parts: :mod:`.discover` (which business metrics
the log shows), :mod:`.widgets` (the dashboard body), :mod:`.alarms` (burn-rate and
zero alarms), :mod:`.template` (the CloudFormation document) and :mod:`.yaml` (its text).
"""
