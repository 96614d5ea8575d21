#!/usr/bin/env python3
"""Adds the installed MCP Runtime platform to the doctor-mode tls-* scenarios and writes the platform-*
scenarios from tls-healthy. Run after scripts/gen-tls-fixtures.py (which rewrites the tls-* scenarios)."""
import json, shutil, os, uuid, hashlib, copy, sys
ROOT=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')
def uid(s): return str(uuid.UUID(hashlib.md5(s.encode()).hexdigest()))
def load(p): return json.load(open(p))
def dump(p, d):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    json.dump(d, open(p,'w'), indent=2); open(p,'a').write('\n')
T='2026-11-18T10:02:11Z'
CRD = [i for i in load(f'{ROOT}/k3s-namespace-terminating/cluster/customresourcedefinitions.apiextensions.k8s.io/_cluster.json')['items'] if i['metadata']['name']=='mcpservers.mcpruntime.org'][0]

def meta(ns, name, rv, labels=None, **kw):
    m={"name":name,"namespace":ns,"uid":uid(ns+'/'+name),"resourceVersion":str(rv),"creationTimestamp":T}
    if labels: m["labels"]=labels
    m.update(kw); return m

def deployment(ns, name, image, labels, ready=1, replicas=1, rv=7000):
    st={"observedGeneration":1,"replicas":replicas,"updatedReplicas":replicas}
    if ready: st.update({"readyReplicas":ready,"availableReplicas":ready})
    else: st["unavailableReplicas"]=replicas
    st["conditions"]=[{"type":"Available","status":"True" if ready else "False","lastUpdateTime":T,"lastTransitionTime":T,
        "reason":"MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
        "message":"Deployment has minimum availability." if ready else "Deployment does not have minimum availability."},
        {"type":"Progressing","status":"True","lastUpdateTime":T,"lastTransitionTime":T,"reason":"NewReplicaSetAvailable" if ready else "ReplicaSetUpdated",
         "message":f'ReplicaSet "{name}-7c9d5b6f48" has successfully progressed.' if ready else f'ReplicaSet "{name}-7c9d5b6f48" is progressing.'}]
    return {"metadata":dict(meta(ns,name,rv,labels),generation=1,annotations={"deployment.kubernetes.io/revision":"1"}),
        "spec":{"replicas":replicas,"selector":{"matchLabels":labels},"template":{"metadata":{"labels":labels},
            "spec":{"containers":[{"name":"manager" if 'operator' in name else name.split('-')[-1] if False else "main","image":image}]}},
            "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}}},
        "status":st}

def pod(ns, name, owner_kind, owner, image, node, labels, container="main", state=None, phase="Running", claims=(), ready=True, restarts=0, last=None, extra_status=None):
    cs={"name":container,"state":state or {"running":{"startedAt":T}},"ready":ready,"restartCount":restarts,
        "image":image,"imageID":"" if state and 'waiting' in state and 'Pull' in state['waiting'].get('reason','') else image.split(':')[0]+"@sha256:"+hashlib.sha256(image.encode()).hexdigest(),
        "started":ready}
    if cs["imageID"]: cs["containerID"]="containerd://"+hashlib.sha256(name.encode()).hexdigest()
    if last: cs["lastState"]=last
    else: cs["lastState"]={}
    conds=[{"type":t,"status":"True" if (ready or t in("Initialized","PodScheduled","PodReadyToStartContainers")) else "False","lastProbeTime":None,"lastTransitionTime":T} for t in ("PodReadyToStartContainers","Initialized","Ready","ContainersReady","PodScheduled")]
    for c in conds:
        if c["status"]=="False": c["reason"]="ContainersNotReady"; c["message"]=f"containers with unready status: [{container}]"
    vols=[{"name":"data","persistentVolumeClaim":{"claimName":c}} for c in claims]
    p={"metadata":dict(meta(ns,name,7100,labels),ownerReferences=[{"apiVersion":"apps/v1","kind":owner_kind,"name":owner,"uid":uid(ns+'/'+owner),"controller":True,"blockOwnerDeletion":True}]),
       "spec":{"volumes":vols,"containers":[{"name":container,"image":image,"imagePullPolicy":"IfNotPresent","terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"FallbackToLogsOnError"}],
               "restartPolicy":"Always","nodeName":node,"serviceAccountName":"default","schedulerName":"default-scheduler"},
       "status":{"phase":phase,"conditions":conds,"hostIP":"10.0.0.31","podIP":"10.42.2.%d"%(int(hashlib.md5(name.encode()).hexdigest(),16)%200+10),"startTime":T,"containerStatuses":[cs],"qosClass":"BestEffort"}}
    if extra_status: p["status"].update(extra_status)
    return p

STS=[("clickhouse","data","clickhouse/clickhouse-server:24.8","20Gi"),("kafka","kafka-data","apache/kafka:3.8.0","10Gi"),
     ("loki","data","grafana/loki:3.2.0","10Gi"),("tempo","data","grafana/tempo:2.6.0","10Gi"),("mcp-sentinel-postgres","data","postgres:16.4","10Gi")]
def sts(name, tmpl, image, size, ready=1):
    labels={"app.kubernetes.io/name":name,"app.kubernetes.io/part-of":"mcp-sentinel"}
    st={"observedGeneration":1,"replicas":1,"currentReplicas":1,"updatedReplicas":1,"currentRevision":f"{name}-6d4b8c7f9","updateRevision":f"{name}-6d4b8c7f9","collisionCount":0,"availableReplicas":ready}
    if ready: st["readyReplicas"]=ready
    return {"metadata":dict(meta("mcp-sentinel",name,7200,labels),generation=1),
        "spec":{"replicas":1,"selector":{"matchLabels":labels},"serviceName":name,
          "template":{"metadata":{"labels":labels},"spec":{"containers":[{"name":name,"image":image}]}},
          "volumeClaimTemplates":[{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":tmpl},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":size}},"volumeMode":"Filesystem"},"status":{"phase":"Pending"}}],
          "podManagementPolicy":"OrderedReady","updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}},"revisionHistoryLimit":10,
          "persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain","whenScaled":"Retain"}},
        "status":st}
def pvc(name, sts_name, size, phase="Bound", node="mcp-worker-1", deleting=None):
    labels={"app.kubernetes.io/name":sts_name,"app.kubernetes.io/part-of":"mcp-sentinel"}
    m=meta("mcp-sentinel",name,7300,labels,annotations={"pv.kubernetes.io/bind-completed":"yes","pv.kubernetes.io/bound-by-controller":"yes","volume.beta.kubernetes.io/storage-provisioner":"rancher.io/local-path","volume.kubernetes.io/selected-node":node,"volume.kubernetes.io/storage-provisioner":"rancher.io/local-path"},finalizers=["kubernetes.io/pvc-protection"])
    if deleting: m["deletionTimestamp"]=deleting; m["deletionGracePeriodSeconds"]=0
    p={"metadata":m,"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":size}},"volumeName":"pvc-"+uid(name),"storageClassName":"local-path","volumeMode":"Filesystem"},
       "status":{"phase":phase,"accessModes":["ReadWriteOnce"],"capacity":{"storage":size}}}
    if phase!="Bound":
        del p["spec"]["volumeName"]; p["status"]={"phase":phase}
        p["metadata"]["annotations"]={k:v for k,v in p["metadata"]["annotations"].items() if 'bind' not in k and 'bound' not in k}
    return p

def registry_pvc(phase="Bound"):
    """The bundled registry's storage claim, registry/registry-storage (setup's default 10Gi on local-path)."""
    p=pvc("registry-storage","registry","10Gi",phase=phase,node="mcp-worker-2")
    p["metadata"]=dict(p["metadata"],namespace="registry",uid=uid("registry/registry-storage"),labels={"app":"registry"})
    return p

OP_LABELS={"control-plane":"controller-manager","app.kubernetes.io/name":"mcp-runtime-operator"}
API_LABELS={"app":"mcp-sentinel-api","app.kubernetes.io/part-of":"mcp-sentinel"}
OP_IMG="registry.example.com/mcp-runtime-operator:v0.9.2"
API_IMG="registry.example.com/mcp-sentinel-api:v0.9.2"

def add_platform(dst):
    """Adds the installed platform (legacy layout) to a doctor-mode scenario; a no-op when it is there."""
    c=f'{dst}/cluster'
    if os.path.exists(f'{c}/statefulsets.apps/_all.json'): return
    crds=load(f'{c}/customresourcedefinitions.apiextensions.k8s.io/_cluster.json'); crds['items'].append(CRD); dump(f'{c}/customresourcedefinitions.apiextensions.k8s.io/_cluster.json',crds)
    deps=load(f'{c}/deployments.apps/_all.json')
    deps['items']+= [deployment("mcp-runtime","mcp-runtime-operator-controller-manager",OP_IMG,OP_LABELS),
                     deployment("mcp-sentinel","mcp-sentinel-api",API_IMG,API_LABELS)]
    dump(f'{c}/deployments.apps/_all.json',deps)
    pods=load(f'{c}/pods/_all.json')
    pods['items']+= [pod("mcp-runtime","mcp-runtime-operator-controller-manager-7c9d5b6f48-x7k2p","ReplicaSet","mcp-runtime-operator-controller-manager-7c9d5b6f48",OP_IMG,"mcp-worker-1",dict(OP_LABELS,**{"pod-template-hash":"7c9d5b6f48"}),container="manager"),
                     pod("mcp-sentinel","mcp-sentinel-api-5d8b9c7f6d-q2w9r","ReplicaSet","mcp-sentinel-api-5d8b9c7f6d",API_IMG,"mcp-worker-2",dict(API_LABELS,**{"pod-template-hash":"5d8b9c7f6d"}),container="api")]
    for n,t,img,size in STS:
        pods['items'].append(pod("mcp-sentinel",f"{n}-0","StatefulSet",n,img,"mcp-worker-1",{"app.kubernetes.io/name":n,"app.kubernetes.io/part-of":"mcp-sentinel","statefulset.kubernetes.io/pod-name":f"{n}-0"},container=n,claims=[f"{t}-{n}-0"]))
    dump(f'{c}/pods/_all.json',pods)
    dump(f'{c}/statefulsets.apps/_all.json',{"kind":"StatefulSetList","apiVersion":"apps/v1","metadata":{"resourceVersion":"7400"},"items":[sts(*s) for s in STS]})
    dump(f'{c}/persistentvolumeclaims/_all.json',{"kind":"PersistentVolumeClaimList","apiVersion":"v1","metadata":{"resourceVersion":"7400"},"items":[pvc(f"{t}-{n}-0",n,size) for n,t,img,size in STS]+[registry_pvc()]})
    secs=load(f'{c}/secrets/_all.json')
    secs['items'].append({"metadata":meta("mcp-sentinel","mcp-sentinel-secrets",7050,{"app.kubernetes.io/managed-by":"mcp-runtime"}),
        "data":{k:"" for k in ["API_KEYS","JWT_SECRET","POSTGRES_PASSWORD","PLATFORM_ADMIN_EMAIL","PLATFORM_ADMIN_PASSWORD","UI_SESSION_ENCRYPTION_KEY"]},"type":"Opaque"})
    dump(f'{c}/secrets/_all.json',secs)

def add_mcpservers(dst, servers=()):
    """Writes the MCPServer list (empty unless servers are given) so live and replayed runs agree."""
    dump(f'{dst}/cluster/mcpservers.mcpruntime.org/_all.json',{"kind":"MCPServerList","apiVersion":"mcpruntime.org/v1alpha1","metadata":{"resourceVersion":"7600"},"items":list(servers)})

import glob
for t in sorted(glob.glob(f'{ROOT}/tls-*')):
    if load(f'{t}/manifest.json').get('mode')=='doctor':
        add_platform(t)
        add_mcpservers(t)

WEATHER_IMG="registry.example.com/weather:0.3.2"
WEATHER_LABELS={"app":"weather","app.kubernetes.io/managed-by":"mcp-runtime-operator"}
def weather(dst, with_deployment=True):
    """MCPServer mcp-servers/weather with the Deployment, Service and Ingress the operator makes for it."""
    add_mcpservers(dst, [{"apiVersion":"mcpruntime.org/v1alpha1","kind":"MCPServer","metadata":dict(meta("mcp-servers","weather",7550),generation=1,finalizers=["mcpruntime.org/finalizer"]),
        "spec":{"image":WEATHER_IMG,"port":8088,"publicPathPrefix":"weather"}}])
    if with_deployment:
        edit(dst,'deployments.apps/_all.json',lambda items: items.append(deployment("mcp-servers","weather",WEATHER_IMG,WEATHER_LABELS)))
        edit(dst,'pods/_all.json',lambda items: items.append(pod("mcp-servers","weather-6c8f7d9b5-k2m4p","ReplicaSet","weather-6c8f7d9b5",WEATHER_IMG,"mcp-worker-2",dict(WEATHER_LABELS,**{"pod-template-hash":"6c8f7d9b5"}),container="weather")))
    edit(dst,'services/_all.json',lambda items: items.append({"metadata":meta("mcp-servers","weather",7560,WEATHER_LABELS),
        "spec":{"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":8088}],"selector":{"app":"weather"},"clusterIP":"10.43.88.17","clusterIPs":["10.43.88.17"],"type":"ClusterIP","sessionAffinity":"None","ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack","internalTrafficPolicy":"Cluster"},"status":{"loadBalancer":{}}}))
    edit(dst,'ingresses.networking.k8s.io/_all.json',lambda items: items.append({"metadata":dict(meta("mcp-servers","weather",7570,WEATHER_LABELS),generation=1,annotations={"traefik.ingress.kubernetes.io/router.entrypoints":"websecure","traefik.ingress.kubernetes.io/router.tls":"true"}),
        "spec":{"ingressClassName":"traefik","rules":[{"host":"mcp.example.com","http":{"paths":[{"path":"/weather","pathType":"Prefix","backend":{"service":{"name":"weather","port":{"number":80}}}}]}}]},
        "status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.10"}]}}}))

def healthy(name, description):
    dst=f'{ROOT}/{name}'
    if os.path.exists(dst): shutil.rmtree(dst)
    shutil.copytree(f'{ROOT}/tls-healthy', dst)
    add_platform(dst)
    add_mcpservers(dst)
    m=load(f'{dst}/manifest.json'); m['description']=description; dump(f'{dst}/manifest.json',m)
    return dst

def edit(dst, rel, fn):
    p=f'{dst}/cluster/{rel}'; d=load(p); fn(d['items']); dump(p,d)
def find(items, ns, name): return [i for i in items if i['metadata'].get('namespace')==ns and i['metadata']['name']==name][0]

D0="A healthy installed platform on the reference k3s topology (the tls-healthy cluster plus the platform, legacy layout): the MCPServer CRD Established; MCPServer mcp-servers/weather with its Deployment (1/1), Service and Ingress (mcp.example.com/weather); the operator mcp-runtime/mcp-runtime-operator-controller-manager 1/1 ready; mcp-sentinel holds mcp-sentinel-api (1/1), the StatefulSets clickhouse, kafka, loki, tempo and mcp-sentinel-postgres (1/1 each) with their local-path PVCs Bound, and mcp-sentinel-secrets with both admin bootstrap keys (values redacted). Every platform check passes."
weather(healthy('platform-healthy', D0))

# operator ImagePullBackOff
d=healthy('platform-operator-image-pull', "doctor; the healthy platform, except the operator was rolled to an image tag that was never published: mcp-runtime-operator-controller-manager 0/1 ready, its pod waiting in ImagePullBackOff (`registry.example.com/mcp-runtime-operator:v0.9.3: not found`). platform.operator fails naming the pod, the reason and the image.")
BAD="registry.example.com/mcp-runtime-operator:v0.9.3"
def op_dep(items):
    x=find(items,"mcp-runtime","mcp-runtime-operator-controller-manager"); new=deployment("mcp-runtime","mcp-runtime-operator-controller-manager",BAD,OP_LABELS,ready=0); x.clear(); x.update(new)
def op_pod(items):
    x=find(items,"mcp-runtime","mcp-runtime-operator-controller-manager-7c9d5b6f48-x7k2p")
    new=pod("mcp-runtime","mcp-runtime-operator-controller-manager-7c9d5b6f48-x7k2p","ReplicaSet","mcp-runtime-operator-controller-manager-7c9d5b6f48",BAD,"mcp-worker-1",dict(OP_LABELS,**{"pod-template-hash":"7c9d5b6f48"}),container="manager",ready=False,phase="Pending",
        state={"waiting":{"reason":"ImagePullBackOff","message":f'Back-off pulling image "{BAD}": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "{BAD}": failed to resolve reference "{BAD}": {BAD}: not found'}})
    x.clear(); x.update(new)
edit(d,'deployments.apps/_all.json',op_dep); edit(d,'pods/_all.json',op_pod)

# postgres PVC Terminating held by a stale pod
d=healthy('platform-sentinel-pvc-terminating', "doctor; a clean reset half done: mcp-sentinel-postgres was scaled to 1 again after `kubectl delete pvc data-mcp-sentinel-postgres-0`, but the claim is stuck Terminating (kubernetes.io/pvc-protection) because pod mcp-sentinel-pgbackup-6f9c8d7b5-h4x2m of an old ReplicaSet still mounts it; mcp-sentinel-postgres-0 is Pending and the StatefulSet 0/1 ready. platform.sentinel fails and names the stale pod.")
def pg_sts(items):
    x=find(items,"mcp-sentinel","mcp-sentinel-postgres"); x['status'].pop('readyReplicas',None); x['status']['availableReplicas']=0
def pg_pvc(items):
    x=find(items,"mcp-sentinel","data-mcp-sentinel-postgres-0"); x['metadata']['deletionTimestamp']='2026-11-21T11:40:02Z'; x['metadata']['deletionGracePeriodSeconds']=0
def pg_pods(items):
    x=find(items,"mcp-sentinel","mcp-sentinel-postgres-0")
    x['status']={"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","lastProbeTime":None,"lastTransitionTime":"2026-11-21T11:41:00Z","reason":"Unschedulable","message":'0/4 nodes are available: persistentvolumeclaim "data-mcp-sentinel-postgres-0" is being deleted. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.'}],"qosClass":"BestEffort"}
    x['spec'].pop('nodeName',None)
    items.append(pod("mcp-sentinel","mcp-sentinel-pgbackup-6f9c8d7b5-h4x2m","ReplicaSet","mcp-sentinel-pgbackup-6f9c8d7b5","postgres:16.4","mcp-worker-1",{"app":"mcp-sentinel-pgbackup","pod-template-hash":"6f9c8d7b5"},container="pgbackup",claims=["data-mcp-sentinel-postgres-0"]))
edit(d,'statefulsets.apps/_all.json',pg_sts); edit(d,'persistentvolumeclaims/_all.json',pg_pvc); edit(d,'pods/_all.json',pg_pods)

# admin email without password, API crash-looping
d=healthy('platform-admin-email-only', "doctor; mcp-sentinel-secrets holds PLATFORM_ADMIN_EMAIL but not PLATFORM_ADMIN_PASSWORD, and mcp-sentinel-api crash-loops on the clean database (CrashLoopBackOff, 7 restarts, last exit 1 with `failed to seed platform admin: PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD must both be set`). platform.admin-bootstrap fails and says this is why the API crash-loops.")
def sec(items):
    x=find(items,"mcp-sentinel","mcp-sentinel-secrets"); del x['data']['PLATFORM_ADMIN_PASSWORD']
def api_dep(items):
    x=find(items,"mcp-sentinel","mcp-sentinel-api"); new=deployment("mcp-sentinel","mcp-sentinel-api",API_IMG,API_LABELS,ready=0); x.clear(); x.update(new)
def api_pod(items):
    x=find(items,"mcp-sentinel","mcp-sentinel-api-5d8b9c7f6d-q2w9r")
    msg="failed to seed platform admin: PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD must both be set\n"
    new=pod("mcp-sentinel","mcp-sentinel-api-5d8b9c7f6d-q2w9r","ReplicaSet","mcp-sentinel-api-5d8b9c7f6d",API_IMG,"mcp-worker-2",dict(API_LABELS,**{"pod-template-hash":"5d8b9c7f6d"}),container="api",ready=False,restarts=7,
        state={"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s restarting failed container=api pod=mcp-sentinel-api-5d8b9c7f6d-q2w9r_mcp-sentinel(%s)"%uid("mcp-sentinel/mcp-sentinel-api-5d8b9c7f6d-q2w9r")}},
        last={"terminated":{"exitCode":1,"reason":"Error","message":msg,"startedAt":"2026-11-21T11:52:40Z","finishedAt":"2026-11-21T11:52:41Z","containerID":"containerd://"+hashlib.sha256(b"api7").hexdigest()}})
    x.clear(); x.update(new)
edit(d,'secrets/_all.json',sec); edit(d,'deployments.apps/_all.json',api_dep); edit(d,'pods/_all.json',api_pod)

# Evicted pod left behind + unrelated Pending pod in a team namespace
d=healthy('platform-evicted-pod', "doctor; the healthy platform plus an Evicted pod left in mcp-sentinel (mcp-sentinel-api-5d8b9c7f6d-7lq4n, evicted from mcp-worker-2 for ephemeral-storage) and, in team namespace team-a, an unrelated Pending pod and Failed pod that must not count. platform.stale-pods warns about the mcp-sentinel pod only.")
def ev(items):
    p=pod("mcp-sentinel","mcp-sentinel-api-5d8b9c7f6d-7lq4n","ReplicaSet","mcp-sentinel-api-5d8b9c7f6d",API_IMG,"mcp-worker-2",dict(API_LABELS,**{"pod-template-hash":"5d8b9c7f6d"}),container="api",ready=False,phase="Failed",
        state={"terminated":{"exitCode":137,"reason":"ContainerStatusUnknown","message":"The container could not be located when the pod was terminated","startedAt":"2026-11-19T08:00:00Z","finishedAt":"2026-11-20T03:12:09Z"}})
    p['status'].update({"reason":"Evicted","message":"The node was low on resource: ephemeral-storage. Threshold quantity: 2Gi, available: 1843Ki. Container api was using 1.2Gi, request is 0, has larger consumption of ephemeral-storage. "})
    items.append(p)
    q=pod("team-a","batch-7f8d9c-abcde","ReplicaSet","batch-7f8d9c","busybox:1.36","mcp-worker-1",{"app":"batch"},ready=False,phase="Pending",state={"waiting":{"reason":"ContainerCreating"}})
    items.append(q)
    r=pod("team-a","batch-7f8d9c-zzzzz","ReplicaSet","batch-7f8d9c","busybox:1.36","mcp-worker-1",{"app":"batch"},ready=False,phase="Failed",state={"terminated":{"exitCode":1,"reason":"Error","startedAt":T,"finishedAt":T}})
    r['status']['reason']="Evicted"; r['status']['message']="The node was low on resource: memory."
    items.append(r)
def ns(items):
    items.append({"metadata":{"name":"team-a","uid":uid("ns/team-a"),"resourceVersion":"7500","creationTimestamp":T,"labels":{"kubernetes.io/metadata.name":"team-a"}},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}})
edit(d,'pods/_all.json',ev); edit(d,'namespaces/_cluster.json',ns)
# platform Ingress without load-balancer status
d=healthy('platform-ingress-no-address', "doctor; the healthy platform, except Ingress mcp-sentinel/mcp-sentinel-platform-ui was created with ingressClassName `nginx`, a class nothing serves: Traefik ignores it and its status has no load-balancer address. platform.ingresses fails naming the Ingress.")
def ing(items):
    x=find(items,"mcp-sentinel","mcp-sentinel-platform-ui"); x['spec']['ingressClassName']="nginx"; x['status']={"loadBalancer":{}}
edit(d,'ingresses.networking.k8s.io/_all.json',ing)
# MCPServer whose Deployment is missing
d=healthy('platform-mcpserver-no-deployment', "doctor; the healthy platform with MCPServer mcp-servers/weather whose Service and Ingress exist but whose Deployment is missing (deleted by hand; the operator has not recreated it). platform.mcpservers fails: not reconciled, deployment missing.")
weather(d, with_deployment=False)

# a user who cannot read Secrets: the checks that need them must not pass
d=healthy('platform-secrets-forbidden', "doctor; the healthy platform read by user ops-viewer, who may not list Secrets (403 recorded for every namespace). platform.admin-bootstrap and the tls checks that read certificates from Secrets are errors naming the missing permission, never passes; cluster.permissions warns and names them.")
dump(f'{d}/evidence/kube/list/secrets/_all.json',{"key":"kube/list/secrets/_all","error":{"kind":"forbidden","message":"secrets is forbidden: User \"ops-viewer\" cannot list resource \"secrets\" in API group \"\" at the cluster scope"}})
print("ok")
