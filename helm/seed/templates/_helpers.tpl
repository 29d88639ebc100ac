{{/* Names ---------------------------------------------------------------- */}}

{{- define "seed.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seed.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "seed.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seed.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "seed.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "seed.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The pods that run stages (Spark drivers/executors, GPU jobs): SEED_K8S_SERVICE_ACCOUNT. */}}
{{- define "seed.jobsServiceAccountName" -}}
{{- if .Values.serviceAccount.jobsName }}
{{- .Values.serviceAccount.jobsName }}
{{- else if .Values.serviceAccount.create }}
{{- printf "%s-jobs" (include "seed.fullname" .) }}
{{- else }}
{{- include "seed.serviceAccountName" . }}
{{- end }}
{{- end }}

{{/* Modes: each renders "true" or nothing, for `if`. ----------------------- */}}

{{/* seed.deployment=kubernetes: SparkApplications and GPU pods. */}}
{{- define "seed.onKubernetes" -}}
{{- if eq .Values.seed.deployment "kubernetes" }}true{{ end }}
{{- end }}

{{- define "seed.kubernetesExecutor" -}}
{{- if eq .Values.airflow.executor "KubernetesExecutor" }}true{{ end }}
{{- end }}

{{/* Airflow's pods talk to the Kubernetes API: they submit SparkApplications/GPU pods or worker pods. */}}
{{- define "seed.airflowUsesKubeApi" -}}
{{- if or (include "seed.onKubernetes" .) (include "seed.kubernetesExecutor" .) }}true{{ end }}
{{- end }}

{{- define "seed.gpuImage" -}}
{{- printf "%s:%s" (default .Values.image.repository .Values.gpu.image.repository) (default (default .Chart.AppVersion .Values.image.tag) .Values.gpu.image.tag) }}
{{- end }}

{{/* Labels: pass (dict "ctx" $ "component" "scheduler") -------------------- */}}

{{- define "seed.selectorLabels" -}}
app.kubernetes.io/name: {{ include "seed.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{- define "seed.labels" -}}
helm.sh/chart: {{ include "seed.chart" .ctx }}
{{ include "seed.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: {{ include "seed.name" .ctx }}
{{- end }}

{{/* Metadata DB: which Secret/key holds the SQLAlchemy URL ---------------- */}}

{{- define "seed.metadataSecretName" -}}
{{- if .Values.postgresql.enabled }}
{{- default (printf "%s-metadata" (include "seed.fullname" .)) .Values.postgresql.auth.existingSecret }}
{{- else }}
{{- required "postgresql.enabled=false needs externalDatabase.existingSecret: a Secret holding the SQLAlchemy URL" .Values.externalDatabase.existingSecret }}
{{- end }}
{{- end }}

{{- define "seed.metadataSecretKey" -}}
{{- if .Values.postgresql.enabled }}connection{{ else }}{{ .Values.externalDatabase.key }}{{ end }}
{{- end }}

{{- define "seed.airflowSecretName" -}}
{{- default (printf "%s-airflow" (include "seed.fullname" .)) .Values.airflow.existingSecret }}
{{- end }}

{{/* Spark ------------------------------------------------------------------ */}}

{{/*
seed.deployment=local: spark-submit in client mode from the task's pod. A k8s:// master is refused:
on this cluster the spark-operator runs the drivers (seed.deployment=kubernetes).
*/}}
{{- define "seed.sparkMaster" -}}
{{- $m := .Values.spark.master | default "" }}
{{- if hasPrefix "k8s://" $m }}
{{- fail (printf "spark.master %s: Spark on Kubernetes runs through the spark-operator, set seed.deployment=kubernetes instead" $m) }}
{{- else if or (eq $m "") (eq $m "local") }}local[*]
{{- else }}{{ $m }}
{{- end }}
{{- end }}

{{/* The Airflow connection spark_local, as AIRFLOW_CONN_SPARK_LOCAL JSON (no secrets in it). */}}
{{- define "seed.sparkConnection" -}}
{{- dict "conn_type" "spark" "host" (include "seed.sparkMaster" .) "extra" (dict "deploy-mode" "client") | toJson }}
{{- end }}

{{/* kubernetes_default for SparkKubernetesOperator/KubernetesPodOperator: the in-cluster API. */}}
{{- define "seed.kubernetesConnection" -}}
{{- dict "conn_type" "kubernetes" "extra" (dict "in_cluster" true "namespace" .Release.Namespace) | toJson }}
{{- end }}

{{/* The remote-logging connection: endpoint only, credentials from boto3's chain (Secret or IRSA). */}}
{{- define "seed.logsConnection" -}}
{{- $extra := dict }}
{{- with .Values.seed.s3EndpointUrl }}
{{- $_ := set $extra "endpoint_url" . }}
{{- $_ := set $extra "config_kwargs" (dict "s3" (dict "addressing_style" "path")) }}
{{- end }}
{{- dict "conn_type" "aws" "extra" $extra | toJson }}
{{- end }}

{{/* envFrom shared by Airflow containers and Spark/GPU pods: SEED_* and the credentials Secret. */}}
{{- define "seed.envFrom" -}}
- configMapRef:
    name: {{ include "seed.fullname" . }}-config
{{- with .Values.secrets.existingSecret }}
- secretRef:
    name: {{ . }}
    optional: true
{{- end }}
{{- end }}

{{/* The metadata DB URL, always from a Secret. */}}
{{- define "seed.sqlAlchemyConnEnv" -}}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom:
    secretKeyRef:
      name: {{ include "seed.metadataSecretName" . }}
      key: {{ include "seed.metadataSecretKey" . }}
{{- end }}

{{/* Environment of every Airflow component. */}}
{{- define "seed.airflowEnv" -}}
- name: AIRFLOW_HOME
  value: {{ .Values.airflow.home | quote }}
- name: AIRFLOW__CORE__EXECUTOR
  value: {{ .Values.airflow.executor | quote }}
- name: AIRFLOW__CORE__DAGS_FOLDER
  value: {{ .Values.airflow.dagsFolder | quote }}
- name: AIRFLOW__CORE__LOAD_EXAMPLES
  value: "False"
- name: AIRFLOW__CORE__EXECUTION_API_SERVER_URL
  value: {{ printf "http://%s-api-server:%v/execution/" (include "seed.fullname" .) .Values.apiServer.service.port | quote }}
# Task logs are fetched from the scheduler pod's log server by IP (pod names don't resolve).
- name: AIRFLOW__CORE__HOSTNAME_CALLABLE
  value: airflow.utils.net.get_host_ip_address
- name: AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS
  value: {{ .Values.airflow.simpleAuthManagerUsers | quote }}
- name: AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK
  value: "True"
{{ include "seed.sqlAlchemyConnEnv" . }}
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "seed.airflowSecretName" . }}
      key: fernet-key
- name: AIRFLOW__API_AUTH__JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "seed.airflowSecretName" . }}
      key: jwt-secret
- name: AIRFLOW__API__SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "seed.airflowSecretName" . }}
      key: api-secret-key
{{- if include "seed.onKubernetes" . }}
- name: AIRFLOW_CONN_KUBERNETES_DEFAULT
  value: {{ include "seed.kubernetesConnection" . | quote }}
{{- else }}
- name: AIRFLOW_CONN_SPARK_LOCAL
  value: {{ include "seed.sparkConnection" . | quote }}
- name: SPARK_CONF_DIR
  value: /opt/seed/spark-conf
{{- end }}
{{- if include "seed.kubernetesExecutor" . }}
- name: AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE
  value: {{ .Release.Namespace | quote }}
- name: AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE
  value: /opt/seed/worker/pod-template.yaml
- name: AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_REPOSITORY
  value: {{ .Values.image.repository | quote }}
- name: AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_TAG
  value: {{ default .Chart.AppVersion .Values.image.tag | quote }}
- name: AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS
  value: {{ ternary "True" "False" .Values.workers.deleteWorkerPods | quote }}
{{- end }}
{{- with .Values.logs.remote }}
{{- if .enabled }}
- name: AIRFLOW__LOGGING__REMOTE_LOGGING
  value: "True"
- name: AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER
  value: {{ required "logs.remote.enabled needs logs.remote.baseFolder (s3://bucket/prefix)" .baseFolder | quote }}
- name: AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID
  value: {{ .connectionId | quote }}
- name: AIRFLOW__LOGGING__ENCRYPT_S3_LOGS
  value: {{ ternary "True" "False" .encrypt | quote }}
{{- if .createConnection }}
- name: {{ printf "AIRFLOW_CONN_%s" (.connectionId | upper) }}
  value: {{ include "seed.logsConnection" $ | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.airflow.extraEnv }}
{{ include "seed.stringEnv" . }}
{{- end }}
{{- end }}

{{/* An EnvVar list with every literal value as a string (--set turns 8 into a number). */}}
{{- define "seed.stringEnv" -}}
{{- $out := list }}
{{- range . }}
{{- $e := deepCopy . }}
{{- if hasKey $e "value" }}{{ $_ := set $e "value" (toString $e.value) }}{{ end }}
{{- $out = append $out $e }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* A map with every value as a string (nodeSelector: --set ...=true gives a boolean). */}}
{{- define "seed.stringMap" -}}
{{- $out := dict }}
{{- range $k, $v := . }}{{ $_ := set $out $k (toString $v) }}{{ end }}
{{- toYaml $out }}
{{- end }}

{{/* Volumes and mounts of every Airflow component. */}}
{{/* Volumes and mounts of every Airflow component and worker pod: what the mode needs. */}}
{{- define "seed.airflowVolumes" -}}
- name: logs
  emptyDir: {}
{{- if include "seed.onKubernetes" . }}
- name: gpu-pod-template
  configMap:
    name: {{ include "seed.fullname" . }}-gpu
{{- else }}
- name: spark-conf
  configMap:
    name: {{ include "seed.fullname" . }}-spark
{{- end }}
{{- if include "seed.kubernetesExecutor" . }}
- name: worker-pod-template
  configMap:
    name: {{ include "seed.fullname" . }}-worker-pod
{{- end }}
{{- end }}

{{- define "seed.airflowVolumeMounts" -}}
- name: logs
  mountPath: {{ printf "%s/logs" .Values.airflow.home }}
{{- if include "seed.onKubernetes" . }}
- name: gpu-pod-template
  mountPath: /opt/seed/k8s
  readOnly: true
{{- else }}
- name: spark-conf
  mountPath: /opt/seed/spark-conf
  readOnly: true
{{- end }}
{{- if include "seed.kubernetesExecutor" . }}
- name: worker-pod-template
  mountPath: /opt/seed/worker
  readOnly: true
{{- end }}
{{- end }}

{{/* Restart pods when their non-secret configuration changes (a template not rendered hashes ""). */}}
{{- define "seed.configChecksums" -}}
checksum/seed-config: {{ include (print .Template.BasePath "/configmap-seed.yaml") . | sha256sum }}
checksum/spark-config: {{ include (print .Template.BasePath "/configmap-spark.yaml") . | sha256sum }}
checksum/gpu-config: {{ include (print .Template.BasePath "/configmap-gpu.yaml") . | sha256sum }}
checksum/worker-pod: {{ include (print .Template.BasePath "/configmap-worker-pod.yaml") . | sha256sum }}
{{- end }}

{{/* Waits until `airflow db migrate` has run (the hook Job may run after the pods start). */}}
{{- define "seed.waitForMigrations" -}}
- name: wait-for-airflow-migrations
  image: {{ include "seed.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["airflow", "db", "check-migrations", "--migration-wait-timeout=60"]
  env:
    {{- include "seed.airflowEnv" . | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    requests: {cpu: 50m, memory: 256Mi}
    limits: {memory: 1Gi}
{{- end }}

{{/*
One Airflow component Deployment. Call with
(dict "ctx" $ "component" "scheduler" "values" .Values.scheduler "automountToken" true "ports" list "probes" yaml "extraVolumes" list "extraMounts" list "extraInit" list)
*/}}
{{- define "seed.airflowDeployment" -}}
{{- $ctx := .ctx }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "seed.fullname" $ctx }}-{{ .component }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "seed.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  replicas: {{ .values.replicas }}
  {{- if eq .component "scheduler" }}
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      {{- include "seed.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "seed.labels" (dict "ctx" $ctx "component" .component) | nindent 8 }}
      annotations:
        {{- include "seed.configChecksums" $ctx | nindent 8 }}
        {{- with $ctx.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "seed.serviceAccountName" $ctx }}
      automountServiceAccountToken: {{ .automountToken }}
      {{- with $ctx.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $ctx.Values.podSecurityContext | nindent 8 }}
      initContainers:
        {{- include "seed.waitForMigrations" $ctx | nindent 8 }}
        {{- with .extraInit }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "seed.image" $ctx }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          command: ["airflow"]
          args: [{{ .component | quote }}]
          envFrom:
            {{- include "seed.envFrom" $ctx | nindent 12 }}
          env:
            {{- include "seed.airflowEnv" $ctx | nindent 12 }}
            {{- with .extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- with .ports }}
          ports:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .probes }}
          {{- . | nindent 10 }}
          {{- end }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $ctx.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "seed.airflowVolumeMounts" $ctx | nindent 12 }}
            {{- with .extraMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "seed.airflowVolumes" $ctx | nindent 8 }}
        {{- with .extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $ctx.Values.nodeSelector }}
      nodeSelector:
        {{- include "seed.stringMap" . | nindent 8 }}
      {{- end }}
      {{- with $ctx.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $ctx.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
